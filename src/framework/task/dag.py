"""The task DAG below some root tasks, walked upstream first (Luigi's ``requires()``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import luigi
from luigi.task import flatten

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
