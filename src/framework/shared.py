"""Work shared between runners (on one machine or many) through Luigi's central scheduler.

Luigi's scheduler hands a task to exactly one of the workers that asked for it, by task id.
So that two runners that need the same new output ask for the SAME task, a task the plan
computes is identified on the scheduler by its signature (its ``work_id`` parameter; the run
id is not part of the Luigi task id), when the run uses ``--scheduler-url`` and may reuse
(neither ``--no-reuse`` nor ``--force``: those ask for private work, identified by the run id).

Whoever is granted a task runs it into its own run and uploads it (``framework.remote``). The
other runner's Luigi worker finds nothing to do meanwhile and returns; the runner builds
again every ``POLL_SECONDS`` until its requested tasks are complete, a task fails, or nothing
is left that another runner could be computing. A task another runner completed is
"adopted": ``RunTask.complete`` finds its verified output in the tracking store (the same
lookup as reuse, so it is downloaded to the cache and verified), and once the DAG is done
``record_adopted`` records it on this run as reused from the run that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from framework.context import current_run

if TYPE_CHECKING:
    import luigi
    from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

    from framework.reuse import Decision, OutputIndex
    from framework.run_task import RunTask
    from framework.tracking import TrackedRun

POLL_SECONDS = 1.0
ADOPTED_REASON = "another runner computed it meanwhile"
# Outputs adopted by this process, by work id: (folder, producing run).
_adopted: dict[str, tuple[Path, str]] = {}
_index: list[OutputIndex] = []


def work_ids(decisions: Sequence[Decision], scheduler_url: str | None, reuse: bool,
             force: Sequence[str]) -> dict[str, str]:
    """Task -> signature digest for the tasks whose work may be shared; see the module."""
    if not scheduler_url or not reuse or force:
        return {}
    return {d.task: d.signature.digest for d in decisions if d.action == "run" and d.folder is None}


def work_id(task: str, run_id: str) -> str:
    """The Luigi identity of ``task`` in run ``run_id``: its signature when shared."""
    try:
        return current_run().work_ids.get(task, run_id)
    except RuntimeError:  # no run: a task made outside the runner (a test, a notebook)
        return run_id


def adopted(work: str) -> Path | None:
    found = _adopted.get(work)
    return found[0] if found else None


def adopt(task: RunTask) -> tuple[Path, str] | None:
    """The verified output another run made of shared ``task`` (folder, run id), if any."""
    if task.work_id not in current_run().work_ids.values():
        return None
    if task.work_id in _adopted:
        return _adopted[task.work_id]
    signature = current_run().signatures.get(task.task_family)
    if signature is None or signature.digest != task.work_id:
        return None
    found = index().find(signature, task.required_files)
    if found is None or found[0] == task.run_id:
        return None
    _adopted[task.work_id] = (found[1], found[0])
    return _adopted[task.work_id]


def index() -> OutputIndex:
    from mlflow.tracking import MlflowClient

    from framework.reuse import OutputIndex

    if not _index or _index[0].client.tracking_uri != current_run().tracking_uri:
        _index[:] = [OutputIndex(MlflowClient(current_run().tracking_uri))]
    _index[0].refused.clear()
    return _index[0]


def until_complete(roots: Sequence[luigi.Task], result: LuigiRunResult,
                   build: Callable[[], LuigiRunResult],
                   failed: Collection[LuigiStatusCode], say: Callable[[str], None]
                   ) -> LuigiRunResult:
    """Build again while shared tasks the roots need are being computed by other runners.

    Luigi reports a task another worker holds as "not granted run permission" (NOT_RUN), so
    that status means "wait" while shared work is pending; once it is done, one more build
    gives the summary of the finished DAG.
    """
    from luigi.execution_summary import LuigiStatusCode

    from framework.execution import walk

    announced: set[str] = set()
    while result.status not in set(failed) - {LuigiStatusCode.NOT_RUN}:
        pending = [task for task in walk(roots) if not task.complete()]
        shared = [task for task in pending
                  if getattr(task, "work_id", None) in current_run().work_ids.values()]
        if not shared:
            return build() if result.status == LuigiStatusCode.NOT_RUN else result
        for task in shared:
            if task.task_family not in announced:
                announced.add(task.task_family)
                say(f"  {task.task_family:<14} waiting  another runner is computing it")
        time.sleep(POLL_SECONDS)
        result = build()
    return result


def record_adopted(run: TrackedRun, dag: Sequence[RunTask], decisions: Sequence[Decision],
                   description: str) -> list[Decision]:
    """Record the tasks this run planned to compute but another run computed meanwhile as
    reused from that run (tags, description, metrics, models, ``plan.txt``); the plan as it
    turned out."""
    from framework import recording
    from framework.outputs import OutputFolder
    from framework.reuse import output_tag, render

    by_task: Mapping[str, Decision] = {d.task: d for d in decisions}
    changed: dict[str, Decision] = {}
    for task in dag:
        decision = by_task[task.task_family]
        if decision.action != "run" or task.task_family not in current_run().work_ids:
            continue
        own = OutputFolder(current_run().output_dir(task.task_family), task.task_family)
        if own.exists() or (found := adopt(task)) is None:
            continue
        changed[task.task_family] = replace(decision, action="reuse", folder=found[0],
                                            source_run=found[1], reason=ADOPTED_REASON)
    if not changed:
        return list(decisions)
    for name in changed:  # this run wrote no such folder
        key = output_tag(name)
        run.retry(partial(run.client.delete_tag, run.run_id, key), f"tag {key}")
    final = [changed.get(d.task, d) for d in decisions]
    run.set_tags({f"reused.{name}": d.source_run for name, d in changed.items()})
    recording.record_lineage(run, [t for t in dag if t.task_family in changed], final,
                             description)
    run.log_text(render(final) + "\n", "plan.txt")
    return final
