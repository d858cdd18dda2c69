"""One trial of an adaptive search, inside its child run: the scoring task first, the rest only
if the trial completes.

The task that logs the study's metric (the Evaluator) runs first, with its upstream tasks; its
pruner may stop it between folds (``RunTask.report_progress`` raises ``TrialPruned``, and
``framework.search.pruning`` remembers it in the process). Only a trial that completes goes on to
the other requested tasks (the final model, the Prediction). A pruned trial's run is FINISHED, not
FAILED: its tag ``trial.state`` says PRUNED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from framework.core.names import TRIAL_NUMBER_TAG, TRIAL_STATE_TAG, TRIAL_STUDY_TAG
from framework.execution import luigi_build as execution
from framework.task.dag import walk

if TYPE_CHECKING:
    from luigi.execution_summary import LuigiRunResult

    from framework.search.trial import TrialRef
    from framework.store.tracking import TrackedRun
    from framework.task.run_task import RunTask

COMPLETE, PRUNED, FAIL = "COMPLETE", "PRUNED", "FAIL"


def tags(trial: TrialRef) -> dict[str, str]:
    """The tags a trial's run is created with."""
    return {TRIAL_NUMBER_TAG: str(trial.number), TRIAL_STUDY_TAG: trial.study}


def was_pruned() -> bool:
    """True when this process's current trial was pruned (framework/search/pruning.py)."""
    from framework.search import pruning
    return pruning.was_pruned()


def reset_pruned() -> None:
    from framework.search import pruning
    pruning.reset()


def execute(run: TrackedRun, roots: Sequence[RunTask], dag: Sequence[RunTask],
            first: str | None, workers: int | None, scheduler_url: str | None
            ) -> tuple[LuigiRunResult, str]:
    """Run the trial's DAG in two stages; the Luigi result and the trial state, which is
    tagged on ``run``. ``first`` names the scoring task (None: one stage)."""
    scoring = [task for task in dag if task.task_family == first]
    result = None
    if scoring and [task.task_family for task in roots] != [first]:
        result = execution.execute(scoring, workers, scheduler_url)
        if execution.succeeded(result):
            # Luigi reports the tasks of the first stage as already complete in the second;
            # they were announced when they ran.
            execution.already_announced(walk(scoring))
            result = None
    if result is None:
        result = execution.execute(roots, workers, scheduler_url)
    state = COMPLETE if execution.succeeded(result) else PRUNED if was_pruned() else FAIL
    run.set_tags({TRIAL_STATE_TAG: state})
    run.failed = state == FAIL
    return result, state
