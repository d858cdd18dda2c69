"""Running a sweep: one parent MLflow run, one child run per configuration, in one process.

Every configuration is checked and planned before the parent run exists (bad input: exit 2, no
run). Then the configurations run in order, each planned again just before it starts, so
whatever an earlier one published (the shared Preprocessor of a Trainer grid) is reused rather
than recomputed. A configuration whose every requested task is already in the store is not run
again: its earlier run stands in for it. With ``--workers N`` the configurations run in N
processes forked after the imports (Luigi's configuration is process-global, so each process
runs one configuration at a time, with one Luigi worker); claims (framework/claims.py) keep two
of them from computing one output twice.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import file as config_file
from framework.config import sweep_spec as sweep
from framework.core.errors import ExitCode, Interrupted, UserError
from framework.core.names import SWEEP_GRID_TAG, SWEEP_SIZE_TAG, TASK_TAG
from framework.execution import claims
from framework.experiment import experiment as app
from framework.experiment.options import Options
from framework.experiment.sweep_report import REUSED, Outcome

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from framework.planning.planner import Decision
    from framework.task.run_task import RunTask



@dataclass
class Plan:
    """Everything a configuration needs to run; forked workers inherit it."""

    configs: list[config_file.ExperimentConfig]
    points: list[dict[str, Any]]
    decisions: list[list[Decision]]
    registry: dict[str, type[RunTask]]
    options: Options
    project_root: Path
    client: MlflowClient
    parent_run_id: str = ""


_plan: Plan | None = None
_stopping = False  # set in a worker once it was interrupted: start nothing more


def run_sweep(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
              options: Options, project_root: Path) -> ExitCode:
    """Check, plan and run every configuration of the sweep; the process exit code."""
    global _plan
    from framework.core.gitinfo import read_git_state
    from framework.experiment import sweep_report
    from framework.store import tracking

    spec = sweep.read_spec(config.sweep, options.sweeps, registry)
    if (options.workers or 1) > 1:
        from framework.store.connection import fork_safe_connections

        fork_safe_connections()
    client = tracking.open_store(tracking.tracking_uri())
    digest = sweep.grid_digest(spec)
    points = sweep_report.stored_grid(client, config.run.experiment_name, digest)
    if points is None:
        points = sweep.expand(spec)
    configs = [sweep.configuration(config, point, spec, project_root) for point in points]
    child_options = replace(options, workers=1, sweeps=())
    plans = check_all(configs, points, registry, child_options, project_root, client)
    spec = with_headline_metric(spec, config, registry)
    from framework.core import heap
    heap.settle()  # imported and planned every configuration: framework/heap.py
    if options.dry_run:
        for point, decisions in zip(points, plans, strict=True):
            print(f"{sweep.describe(point)}\n{render(decisions)}")
        print(f"sweep of {len(points)} configurations (dry run, nothing was run or logged)")
        return ExitCode.OK
    _plan = Plan(configs, points, plans, registry, child_options, project_root, client)
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
            for outcome in execute(len(points), options.workers or 1):
                outcomes.append(outcome)
                progress.done(outcome)
        finally:
            best = sweep_report.compare(parent, spec, outcomes)
        failed = [o for o in outcomes if o.status not in ("FINISHED", REUSED)]
        parent.failed = bool(failed)
    sweep_report.print_table(spec, outcomes, best)
    for outcome in failed:
        print(f"configuration {outcome.index + 1} ({sweep.describe(outcome.point)}) "
              f"{outcome.status}: {outcome.error or 'see its run'}", flush=True)
    app.report(parent, "")
    return ExitCode.TASK_FAILED if failed else ExitCode.OK


def render(decisions: Sequence[Decision]) -> str:
    from framework.planning.planner import render as render_plan

    return render_plan(decisions)


def check_all(configs: Sequence[config_file.ExperimentConfig], points: Sequence[dict[str, Any]],
              registry: dict[str, type[RunTask]], options: Options, project_root: Path,
              client: MlflowClient) -> list[list[Decision]]:
    """Check and plan every configuration (each task's ``check()`` included), or raise the
    ``UserError`` of the first bad one, naming it."""
    plans = []
    for number, (cfg, point) in enumerate(zip(configs, points, strict=True), start=1):
        try:
            decisions = app.prepare(cfg, registry, options, project_root, client)[1]
        except UserError as error:
            raise UserError(f"sweep configuration {number}/{len(configs)} "
                            f"({sweep.describe(point)}): {error}") from None
        plans.append(decisions)
    return plans


def execute(count: int, workers: int) -> Iterator[Outcome]:
    """Each configuration's outcome as it finishes: in order in this process for one worker,
    else in ``workers`` forked processes (configurations handed out in order)."""
    if workers == 1:
        for index in range(count):
            yield run_configuration(index)
        return
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"), _worker_started)
    try:
        futures = [pool.submit(run_configuration, index) for index in range(count)]
        for future in as_completed(futures):
            yield future.result()
    except BaseException as error:
        pool.shutdown(wait=False, cancel_futures=True)
        if isinstance(error, Interrupted):  # SIGTERM reached this process only: pass it on
            for process in multiprocessing.active_children():
                process.terminate()
        for process in multiprocessing.active_children():
            process.join(timeout=30)
        raise
    pool.shutdown()


def _worker_started() -> None:
    """In a forked worker: SIGTERM ends the current configuration as KILLED."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(f"signal {signum}")


def run_configuration(index: int) -> Outcome:
    """Plan configuration ``index`` again, then run it as a child of the sweep's run."""
    global _stopping
    assert _plan is not None
    point = _plan.points[index]
    if _stopping:
        return Outcome(index, point, "KILLED", error="the sweep was interrupted")
    started = time.monotonic()
    try:
        return run_planned(index, started)
    except KeyboardInterrupt:
        _stopping = True
        raise
    except Exception as error:  # one configuration failing does not stop the others
        return Outcome(index, point, "FAILED", seconds=time.monotonic() - started,
                       error=f"{type(error).__name__}: {error}")


def run_planned(index: int, started: float) -> Outcome:
    assert _plan is not None
    p = _plan
    point, cfg = p.points[index], p.configs[index]
    decisions = p.decisions[index]
    if reused_run(cfg, decisions) is None:  # planned before earlier configurations ran
        decisions = app.prepare(cfg, p.registry, p.options, p.project_root, p.client)[1]
    source = reused_run(cfg, decisions)
    if source is not None:
        return Outcome(index, point, REUSED, source, time.monotonic() - started,
                       dict(p.client.get_run(source).data.metrics))
    decisions = app.claim(cfg, p.registry, p.options, p.client, decisions, p.project_root)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            run = app.track_and_execute(cfg, p.registry, p.options, p.client, decisions,
                                        p.project_root, p.parent_run_id, sweep.describe(point))
    finally:
        claims.release_all()
    run.log_text(output.getvalue(), "runner_output.txt")
    metrics = dict(p.client.get_run(run.run_id).data.metrics)
    # The task's own FAILED progress line says which task failed and why.
    failures = [" ".join(line.split()) for line in output.getvalue().splitlines()
                if line.split()[1:2] == ["FAILED"]]
    return Outcome(index, point, run.status, run.run_id, time.monotonic() - started, metrics,
                   ("; ".join(failures) or "a task failed") if run.failed else "")


def reused_run(config: config_file.ExperimentConfig, decisions: Sequence[Decision]
               ) -> str | None:
    """The one earlier run whose outputs stand in for every requested task, if there is one."""
    by_task = {d.task: d for d in decisions}
    sources = {by_task[task].source_run if by_task[task].action == "reuse" else None
               for task in config.run.tasks}
    return sources.pop() if len(sources) == 1 else None


def with_headline_metric(spec: sweep.SweepSpec, config: config_file.ExperimentConfig,
                         registry: dict[str, type[RunTask]]) -> sweep.SweepSpec:
    """``spec`` with the DAG's headline metric (and its goal) when ``[Sweep]`` names none;
    e.g. ``cv_rmse_mean``, minimized, for a regression. Uses the configuration last checked."""
    if spec.metric is not None:
        return spec
    from framework.task.dag import walk

    roots = [registry[name](run_id=app.PLANNING_RUN_ID) for name in config.run.tasks]
    for task in walk(roots):
        headline = task.headline_metric()
        if headline is not None:
            metric, goal = headline
            return replace(spec, metric=metric, goal=spec.raw.get("goal", goal))
    return spec
