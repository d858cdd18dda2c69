"""Work shared between runners (on one machine or many) through Luigi's central scheduler.

Luigi's scheduler hands a task to exactly one of the workers that asked for it, by task id.
So that two runners that need the same new output ask for the SAME task, a task the plan
computes is identified on the scheduler by its signature (its ``work_id`` parameter; the run
id is not part of the Luigi task id), when the run uses ``--scheduler-url`` and may reuse
(neither ``--no-reuse`` nor ``--force``: those ask for private work, identified by the run id).

Whoever is granted a task runs it into its own run and uploads it
(``framework.store.remote_outputs``). The other runner's Luigi worker finds nothing to do meanwhile
and returns; the runner builds again every ``POLL_SECONDS`` until its requested tasks are complete,
a task fails, or nothing is left that another runner could be computing. A task another runner
completed is "adopted": ``RunTask.complete`` finds its verified output in the tracking store (the
same lookup as reuse, so it is downloaded to the cache and verified), and once the DAG is done
``record_adopted`` records it on this run as reused from the run that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from framework.task.context import current_run

if TYPE_CHECKING:
    import luigi
    from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

    from framework.planning.planner import Decision

POLL_SECONDS = 1.0


def work_ids(decisions: Sequence[Decision], scheduler_url: str | None, reuse: bool,
             force: Sequence[str]) -> dict[str, str]:
    """Task -> signature digest for the tasks whose work may be shared; see the module."""
    if not scheduler_url or not reuse or force:
        return {}
    return {d.task: d.signature.digest for d in decisions if d.action == "run" and d.folder is None}


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

    from framework.task.dag import walk

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


