"""The task DAG below some root tasks, walked upstream first (Luigi's ``requires()``), and the
nearest upstream task that made a logged model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import luigi
from luigi.task import flatten

from framework.store import models

T = TypeVar("T", bound=luigi.Task)


def walk(roots: Sequence[T]) -> Iterator[T]:
    """Every task of the DAG below ``roots``, upstream first, each once.

    Typed by the roots: the tasks of a ``RunTask`` DAG are ``RunTask``s.
    """
    seen: set[str] = set()

    def visit(task: T) -> Iterator[T]:
        if task.task_id in seen:
            return
        seen.add(task.task_id)
        for upstream in flatten(task.requires()):
            yield from visit(upstream)
        yield task

    for root in roots:
        yield from visit(root)


def upstream_model(task: luigi.Task) -> str | None:
    """The logged model of the nearest upstream task that declares one (breadth first).

    Metrics a task logs are linked to it: the Evaluator's scores are scores of the Trainer's
    model, and show on that model's page.
    """
    pending = list(flatten(task.requires()))
    seen: set[str] = set()
    while pending:
        upstream = pending.pop(0)
        if upstream.task_id in seen:
            continue
        seen.add(upstream.task_id)
        if getattr(upstream, "model_folder", None):
            found = models.model_id_of(upstream.output())
            if found:
                return found
        pending.extend(flatten(upstream.requires()))
    return None
