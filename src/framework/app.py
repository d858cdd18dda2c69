"""One experiment, start to finish: check everything, plan, open the run, run, close the run.

The order matters. Every check that can fail on the user's input runs before the MLflow run is
created, so bad input leaves no trace in the store. Luigi and MLflow are imported only after the
TOML file has been read, because importing Luigi parses its config and raises on bad TOML.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from framework import config as config_file
from framework import heap
from framework.errors import ExitCode, UserError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from framework.context import TrialRef
    from framework.reuse import Decision
    from framework.run_task import RunTask
    from framework.tracking import TrackedRun

PLANNING_RUN_ID = "planning"
# Where task outputs of a run with remote artifacts (an MLflow server) are written first.
REMOTE_STAGING = Path("mlruns") / "local"


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    config: Path | None = None
    tasks: Sequence[str] = ()
    overrides: Sequence[str] = ()
    workers: int | None = None
    scheduler_url: str | None = None
    verbose: bool = False
    dry_run: bool = False
    force: Sequence[str] = ()
    accept_pins: Sequence[str] = ()
    reuse: bool = True
    sweeps: Sequence[str] = ()  # --sweep 'Task.param=[...]'


def run_experiment(options: Options, project_root: Path) -> ExitCode:
    """Run the experiment ``options`` describe; return the process exit code.

    Raises ``UserError`` (before any run exists) for bad input.
    """
    from framework.registry import load_tasks

    config = load_experiment(options, project_root)
    registry = load_tasks(config.run.modules)
    if config.sweep or options.sweeps:
        from framework.sweep_run import run_sweep

        return run_sweep(config, registry, options, project_root)
    client, decisions = prepare(config, registry, options, project_root)
    heap.settle()  # imported and planned: framework/heap.py
    if options.dry_run:
        from framework.reuse import render

        print(f"plan (dry run, nothing was run or logged):\n{render(decisions)}")
        return ExitCode.OK
    decisions = claim(config, registry, options, client, decisions, project_root)
    try:
        run = track_and_execute(config, registry, options, client, decisions, project_root)
    finally:
        from framework import claims

        claims.release_all()
    return ExitCode.TASK_FAILED if run.failed else ExitCode.OK


def load_experiment(options: Options, project_root: Path) -> config_file.ExperimentConfig:
    """``.env`` and the experiment file with the command line's overrides applied."""
    config_file.load_environment(project_root)
    # --config is relative to where the command was started; LUIGI_CONFIG_PATH to the project.
    config_path = (options.config.resolve() if options.config
                   else project_root / os.environ["LUIGI_CONFIG_PATH"])
    # Paths in the config, and MLflow's default artifact root, are relative to the project.
    os.chdir(project_root)
    overrides = list(options.overrides)
    if options.tasks:
        overrides.append(f"{config_file.RUN_SECTION}.task={json.dumps(list(options.tasks))}")
    config = config_file.load_config(config_path, project_root, overrides)
    # The runner hands Luigi the checked config itself; Luigi must not parse the file again.
    os.environ.pop("LUIGI_CONFIG_PATH", None)
    return config


def prepare(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
            options: Options, project_root: Path, client: MlflowClient | None = None
            ) -> tuple[MlflowClient, list[Decision]]:
    """Check one configuration, make it Luigi's, and plan it (opening the store if needed)."""
    from framework import schema

    values = schema.check_sections(config, registry)
    schema.check_task_names([*options.force, *options.accept_pins], registry,
                            "--force/--accept-pin")
    schema.install_luigi_config(config, values, registry)
    if client is None:
        from framework.tracking import open_store, tracking_uri

        client = open_store(tracking_uri())
    decisions = plan(config, registry, options, client, project_root / "src")
    if options.scheduler_url:
        from framework.execution import check_scheduler

        check_scheduler(options.scheduler_url)
    return client, decisions


def claim(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
          options: Options, client: MlflowClient, decisions: list[Decision],
          project_root: Path) -> list[Decision]:
    """Claim the outputs the plan computes (framework/claims.py); the plan to execute."""
    if not options.reuse:  # nothing would be reused from the other runner anyway
        return decisions
    from framework import claims
    from framework.index import OutputIndex

    index = OutputIndex(client)
    return claims.claim_outputs(
        decisions, lambda: plan(config, registry, options, client, project_root / "src"),
        lambda d: not d.forced and index.find(d.signature, registry[d.task].required_files)
        is not None,
        lambda task: print(f"  {task:<14} waiting  another runner is computing it", flush=True))


def check_one_instance_per_task(dag: Sequence[RunTask]) -> None:
    """Outputs, pins and signatures are per task name, so each task may appear once."""
    families = [task.task_family for task in dag]
    for family in families:
        if families.count(family) > 1:
            raise UserError(f"{family} appears twice in the DAG with different parameters; each "
                            "task has one config section: make the second a task of its own")


def plan(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
         options: Options, client: MlflowClient, source_root: Path) -> list[Decision]:
    """Decide, upstream first, how each task of the DAG is satisfied; check what will run."""
    from luigi.task import flatten

    from framework.context import RunContext, activate
    from framework.execution import walk
    from framework.pins import check_distinct_folders, resolve_run_pins
    from framework.reuse import OutputIndex, Planner, prune
    from framework.tracking import tracking_uri

    pins = {**config.pins, **resolve_run_pins(config, client)}
    check_distinct_folders(pins)
    activate(RunContext(tracking_uri(), config.input_dir, pins))
    planner = Planner(OutputIndex(client), source_root, pins=pins, force=options.force,
                      accept=options.accept_pins, reuse=options.reuse)
    roots = [registry[name](run_id=PLANNING_RUN_ID) for name in config.run.tasks]
    dag = list(walk(roots))
    check_one_instance_per_task(dag)
    requires = {task.task_family: [dep.task_family for dep in flatten(task.requires())]
                for task in dag}
    decisions = prune([planner.decide(task) for task in dag], roots, requires)
    for task, decision in zip(dag, decisions, strict=True):
        if decision.action == "run":
            task.check()
    return decisions


def track_and_execute(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
                      options: Options, client: MlflowClient, decisions: list[Decision],
                      project_root: Path, parent_run_id: str | None = None,
                      trial: TrialRef | None = None, scoring_task: str | None = None
                      ) -> TrackedRun:
    """Open the run, record the experiment, run the DAG and close the run with its outcome.

    With ``trial`` the run is that trial of an adaptive search (framework/trial_run.py):
    ``scoring_task`` runs first, and the rest only if the trial is neither pruned nor failed.
    """
    from framework import execution, pruning, recording, scoring, shared, tracking, trial_run, ui
    from framework.context import RunContext, activate
    from framework.gitinfo import read_git_state
    from framework.reuse import render

    git = read_git_state(project_root)
    tags = {"task": ",".join(config.run.tasks), **recording.source_tags(),
            **(git.tags() if git else {}), **(trial_run.tags(trial) if trial else {})}
    with tempfile.TemporaryDirectory(prefix="runner-") as scratch, tracking.tracked_run(
        client, config.run.experiment_name, config.run.description, tags, parent_run_id
    ) as run:
        log_file = Path(scratch) / "luigi.log"
        execution.configure_logging(log_file, options.verbose)
        # With a remote artifact store, tasks write here and upload each folder when done.
        output_root = run.artifact_dir or project_root / REMOTE_STAGING / run.run_id
        activate(RunContext(
            tracking.tracking_uri(), config.input_dir,
            locations={d.task: d.folder for d in decisions if d.folder is not None},
            artifact_dir=output_root,
            signatures={d.task: d.signature for d in decisions},
            upload=run.artifact_dir is None,
            work_ids=shared.work_ids(decisions, options.scheduler_url, options.reuse,
                                     options.force),
            trial=trial,
        ))
        roots = [registry[name].of_run(run.run_id) for name in config.run.tasks]
        dag = list(execution.walk(roots))
        ui.mark_training_experiment(client, run.experiment_id)
        recording.record_inputs(run, config, dag, decisions,
                                git.diff if git and git.dirty else "")
        print(f"run {run.run_id} in experiment {config.run.experiment_name!r}: "
              f"{' + '.join(config.run.tasks)}\nplan:\n{render(decisions)}", flush=True)
        recording.record_lineage(run, dag, decisions, config.run.description)
        recording.record_datasets(run, dag)
        try:
            pruning.reset()
            if trial is None:
                result = execution.execute(roots, options.workers, options.scheduler_url)
                run.failed = not execution.succeeded(result)
            else:  # a pruned trial's run is not failed (run.failed), nor complete
                result = trial_run.execute(run, roots, dag, scoring_task, options.workers,
                                           options.scheduler_url)[0]
            shared.record_adopted(run, dag, decisions, config.run.description)
            scoring.link_scores(run.client, run.run_id, dag)
        finally:
            run.log_artifact(log_file, "logs")
        if execution.succeeded(result):
            recording.register_models(run, config, dag)
    report(run, result.summary_text if run.failed else "")
    return run


def report(run: TrackedRun, failure_summary: str) -> None:
    """The closing lines: status, run id, and how to look at it (in model-training mode)."""
    from framework.ui import run_url

    if failure_summary:
        print(failure_summary.strip(), flush=True)
    print(f"{run.status} run {run.run_id} (experiment id {run.experiment_id})\n"
          f"  browse: `docker compose up` (or see README: Browse results), then open "
          f"{run_url(run.experiment_id, run.run_id)}", flush=True)
