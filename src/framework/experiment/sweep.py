"""Running a sweep: one parent MLflow run, one child run per configuration, in one process.

Every configuration is checked before the parent run exists (bad input: exit 2, no run:
framework/experiment/sweep_check.py), but planned only just before it runs, so whatever an earlier
one published (the shared Preprocessor of a Trainer grid) is reused rather than recomputed, and
the first configuration starts as soon as the checks are done. A configuration whose every
requested task is already in the store is not run again: its earlier run stands in for it.
What runs next is a sweeper's choice (``GridSweeper`` here; an Optuna study's trials in
framework/experiment/study_run.py); how it runs is the launcher's (framework/execution/launcher.py):
in order in this process, or with ``--workers N`` in N processes forked after the imports (Luigi's
configuration is process-global, so each runs one configuration at a time, with one Luigi
worker); claims (framework/execution/claims.py) keep two of them from computing one output twice.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import file as config_file
from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.errors import ExitCode
from framework.core.names import (
    RUNNER_OUTPUT_ARTIFACT,
    SWEEP_GRID_TAG,
    SWEEP_SIZE_TAG,
    TASK_TAG,
    TRIAL_STATE_TAG,
)
from framework.execution import claims
from framework.experiment import experiment as app
from framework.experiment.options import Options
from framework.experiment.sweep_report import REUSED, Outcome

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from framework.planning.planner import Decision
    from framework.search.trial import TrialRef
    from framework.task.run_task import RunTask

@dataclass(frozen=True)
class Job:
    """What one worker evaluates: a configuration (and, in a study, its trial)."""

    index: int
    point: dict[str, Any]
    trial: TrialRef | None = None


@dataclass
class Plan:
    """Everything a configuration needs to run; forked workers inherit it."""

    base: config_file.ExperimentConfig
    spec: sweep.SweepSpec
    registry: dict[str, type[RunTask]]
    options: Options
    project_root: Path
    client: MlflowClient
    parent_run_id: str = ""
    scoring_task: str | None = None  # in a study: the task that logs the metric runs first


class GridSweeper:
    """A grid's or random sweep's configurations, handed out in order."""

    def __init__(self, points: Sequence[dict[str, Any]]) -> None:
        self.points, self.next = points, 0

    def ask(self) -> Job | None:
        if self.next >= len(self.points):
            return None
        self.next += 1
        return Job(self.next - 1, self.points[self.next - 1])

    def tell(self, job: Job, outcome: Outcome) -> None:
        """A grid does not learn."""


_plan: Plan | None = None
_stopping = False  # set in a worker once it was interrupted: start nothing more


def run_sweep(config: config_file.ExperimentConfig, spec: sweep.SweepSpec,
              registry: dict[str, type[RunTask]], options: Options, project_root: Path
              ) -> ExitCode:
    """Check every configuration of a grid or random sweep, then run them; the process exit
    code."""
    global _plan
    from framework.core.gitinfo import read_git_state
    from framework.execution import launcher
    from framework.experiment import sweep_check, sweep_report, sweep_warm
    from framework.store import tracking

    if (options.workers or 1) > 1:
        from framework.store.connection import fork_safe_connections

        fork_safe_connections()
    client = tracking.open_store(tracking.tracking_uri())
    digest = sweep_points.grid_digest(spec)
    # A random sample an earlier sweep drew is read back rather than drawn again (no
    # scikit-learn import); a grid is quicker to expand than to look up.
    points = (sweep_report.stored_grid(client, config.run.experiment_name, digest)
              if spec.method != "grid" else None)
    if points is None:
        points = sweep_points.expand(spec)
    child_options = replace(options, workers=1, sweeps=())
    sweep_check.check_all(config, points, len(points), spec, registry, project_root)
    first = sweep_points.configuration(config, points[0], spec, project_root)
    first_plan = check_first(first, points[0], len(points), registry, child_options,
                             project_root, client)
    spec = sweep_check.with_headline_metric(spec, first, registry)
    sweep_check.check_metric(spec, first, registry)
    from framework.core import heap
    heap.settle()  # imported and checked every configuration: framework/core/heap.py
    if options.dry_run:
        print(f"{sweep_points.describe(points[0])}\n{render(first_plan)}")
        for point in points[1:]:  # planned against today's store: earlier ones have not run
            plan = app.prepare(sweep_points.configuration(config, point, spec, project_root),
                               registry, child_options, project_root, client)[1]
            print(f"{sweep_points.describe(point)}\n{render(plan)}")
        print(f"sweep of {len(points)} configurations (dry run, nothing was run or logged)")
        return ExitCode.OK
    _plan = Plan(config, spec, registry, child_options, project_root, client)
    git = read_git_state(project_root, (config.path,))
    from framework.experiment.recording import source_tags

    tags = {TASK_TAG: ",".join(config.run.tasks), SWEEP_SIZE_TAG: str(len(points)),
            **source_tags(),
            SWEEP_GRID_TAG: digest,
            **(git.tags() if git else {})}
    outcomes: list[Outcome] = []
    with tracking.tracked_run(client, config.run.experiment_name, config.run.description,
                              tags, run_name=f"sweep of {len(points)}: "
                                             f"{', '.join(spec.space)}") as parent:
        _plan.parent_run_id = parent.run_id
        sweep_report.record_sweep(parent, config, spec, points, git)
        print(f"sweep run {parent.run_id} in experiment {config.run.experiment_name!r}: "
              f"{len(points)} configurations, {options.workers or 1} at a time", flush=True)
        progress = sweep_report.Progress(len(points), spec)
        try:
            # With workers, the parent loads what configurations load while the first runs.
            warm = partial(sweep_warm.warm_up, first, first_plan, registry, project_root)
            for _job, outcome in launcher.launch(GridSweeper(points), run_job,
                                                 options.workers or 1, broken_worker, warm):
                outcomes.append(outcome)
                progress.done(outcome)
        finally:
            best = sweep_report.compare(parent, spec, outcomes)
        failed = [o for o in outcomes if o.status not in ("FINISHED", REUSED)]
        parent.failed = bool(failed)
    sweep_report.print_table(spec, outcomes, best)
    for outcome in failed:
        print(f"configuration {outcome.index + 1} ({sweep_points.describe(outcome.point)}) "
              f"{outcome.status}: {outcome.error or 'see its run'}", flush=True)
    app.report(parent, "")
    return ExitCode.TASK_FAILED if failed else ExitCode.OK


def render(decisions: Sequence[Decision]) -> str:
    from framework.planning.planner import render as render_plan

    return render_plan(decisions)


def check_first(cfg: config_file.ExperimentConfig, point: dict[str, Any], total: int,
                registry: dict[str, type[RunTask]], options: Options, project_root: Path,
                client: MlflowClient) -> list[Decision]:
    """Plan the first configuration (the checks a plan adds: pins, the tasks that will run,
    the scheduler); the plan, or the ``UserError`` naming the configuration."""
    from framework.core.errors import UserError

    try:
        return app.prepare(cfg, registry, options, project_root, client)[1]
    except UserError as error:
        raise UserError(f"sweep configuration 1/{total} ({sweep_points.describe(point)}): {error}"
                        ) from None


def broken_worker(job: Job, error: BaseException) -> Outcome:
    """The outcome of a job whose worker process died under it."""
    return Outcome(job.index, job.point, "FAILED", error=f"its worker process died ({error})",
                   trial=job.trial.number if job.trial else None)


def run_job(job: Job) -> Outcome:
    """Plan the job's configuration, then run it as a child of the sweep's run."""
    global _stopping
    trial = job.trial.number if job.trial else None
    if _stopping:
        return Outcome(job.index, job.point, "KILLED", error="the sweep was interrupted",
                       trial=trial)
    started = time.monotonic()
    try:
        return run_planned(job, started)
    except KeyboardInterrupt:
        _stopping = True
        raise
    except Exception as error:  # one configuration failing does not stop the others
        return Outcome(job.index, job.point, "FAILED", seconds=time.monotonic() - started,
                       error=f"{type(error).__name__}: {error}", trial=trial)


def run_planned(job: Job, started: float) -> Outcome:
    from framework.experiment import trial_run
    assert _plan is not None
    p = _plan
    cfg = sweep_points.configuration(p.base, job.point, p.spec, p.project_root)
    trial = job.trial.number if job.trial else None
    decisions = app.prepare(cfg, p.registry, p.options, p.project_root, p.client)[1]
    source = reused_run(cfg, decisions)
    if source is not None:
        return Outcome(job.index, job.point, REUSED, source, time.monotonic() - started,
                       dict(p.client.get_run(source).data.metrics), trial=trial)
    decisions = app.claim(cfg, p.registry, p.options, p.client, decisions, p.project_root)
    trial_run.reset_pruned()
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            run = app.track_and_execute(cfg, p.registry, p.options, p.client, decisions,
                                        p.project_root, p.parent_run_id, job.trial,
                                        p.scoring_task, run_name=sweep_points.describe(job.point))
    finally:
        claims.release_all()
    run.log_text(output.getvalue(), RUNNER_OUTPUT_ARTIFACT)
    recorded = p.client.get_run(run.run_id).data
    status = recorded.tags.get(TRIAL_STATE_TAG, run.status) if job.trial else run.status
    # The task's own FAILED progress line says which task failed and why.
    failures = [" ".join(line.split()) for line in output.getvalue().splitlines()
                if line.split()[1:2] == ["FAILED"]]
    return Outcome(job.index, job.point, status, run.run_id, time.monotonic() - started,
                   dict(recorded.metrics),
                   ("; ".join(failures) or "a task failed") if run.failed else "", trial)


def reused_run(config: config_file.ExperimentConfig, decisions: Sequence[Decision]
               ) -> str | None:
    """The one earlier run whose outputs stand in for every requested task, if there is one."""
    by_task = {d.task: d for d in decisions}
    sources = {by_task[task].source_run if by_task[task].action == "reuse" else None
               for task in config.run.tasks}
    return sources.pop() if len(sources) == 1 else None
