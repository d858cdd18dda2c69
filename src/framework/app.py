"""One experiment, start to finish: check everything, open the run, let Luigi work, close the run.

The order matters. Every check that can fail on the user's input runs before the MLflow run is
created, so bad input leaves no trace in the store. Luigi and MLflow are imported only after the
TOML file has been read, because importing Luigi parses its config and raises on bad TOML.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from framework import config as config_file
from framework.errors import ExitCode, UserError

if TYPE_CHECKING:
    from framework.tracking import TrackedRun
    from tasks.run_task import RunTask

PLANNING_RUN_ID = "planning"
UI_PORT = 5000


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    config: Path
    tasks: Sequence[str] = ()
    overrides: Sequence[str] = ()
    workers: int = 1
    scheduler_url: str | None = None
    verbose: bool = False
    extra_tags: dict[str, str] = field(default_factory=dict)


def run_experiment(options: Options, project_root: Path) -> ExitCode:
    """Run the experiment ``options`` describe; return the process exit code.

    Raises ``UserError`` (before any run exists) for bad input.
    """
    config_file.load_environment(project_root)
    config_path = options.config.resolve()
    # Paths in the config, and MLflow's default artifact root, are relative to the project.
    os.chdir(project_root)
    overrides = list(options.overrides)
    if options.tasks:
        overrides.append(f"{config_file.RUN_SECTION}.task={json.dumps(list(options.tasks))}")
    config = config_file.load_config(config_path, project_root, overrides)
    # The runner hands Luigi the checked config itself; Luigi must not parse the file again.
    os.environ.pop("LUIGI_CONFIG_PATH", None)

    registry = load_tasks(config.run.modules)
    from framework import schema

    values = schema.check_sections(config, registry)
    schema.install_luigi_config(config, values, registry)
    plan(config, registry)
    return track_and_execute(config, registry, options, project_root)


def load_tasks(modules: Sequence[str]) -> dict[str, type[RunTask]]:
    """Every concrete ``RunTask`` of the project's ``tasks`` package and of ``modules``."""
    import tasks  # noqa: F401  (importing registers the project's tasks)
    from tasks.run_task import RunTask

    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            raise UserError(f"RunConfig.modules: cannot import {module!r} ({error}); put it "
                            "in src/ or fix the name") from None
    found: dict[str, type[RunTask]] = {}
    pending = list(RunTask.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not inspect.isabstract(cls):
            found[cls.__name__] = cls
    return found


def plan(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]]) -> None:
    """Check pinned folders and every task's input before any run exists."""
    from framework.context import RunContext, activate
    from framework.execution import walk
    from framework.tracking import tracking_uri

    activate(RunContext(tracking_uri(), config.input_dir, config.pins))
    roots = [registry[name](run_id=PLANNING_RUN_ID) for name in config.run.tasks]
    for task in walk(roots):
        if task.task_family in config.pins:
            check_pin(task)
            if task.output().exists():
                continue
        task.check()


def check_pin(task: RunTask) -> None:
    """A pinned folder must hold a complete output of its task, or be empty (to be written)."""
    output = task.output()
    if output.exists() or output.is_empty():
        return
    raise UserError(f"PathConfig.{task.task_family} = {output.path} holds no complete "
                    f"{task.task_family} output ({output.problem()}); point it at a finished "
                    f"run's artifacts/{task.task_family} folder, or at an empty folder")


def track_and_execute(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
                      options: Options, project_root: Path) -> ExitCode:
    """Open the run, record the experiment, run the DAG and close the run with its outcome."""
    from mlflow.tracking import MlflowClient

    from framework import execution, tracking
    from framework.context import RunContext, activate
    from framework.gitinfo import read_git_state

    git = read_git_state(project_root)
    tags = {"task": ",".join(config.run.tasks), **(git.tags() if git else {}),
            **options.extra_tags}
    client = MlflowClient(tracking.tracking_uri())
    with tempfile.TemporaryDirectory(prefix="runner-") as scratch, tracking.tracked_run(
        client, config.run.experiment_name, config.run.description, tags
    ) as run:
        log_file = Path(scratch) / "luigi.log"
        execution.configure_logging(log_file, options.verbose)
        artifact_dir = run.artifact_dir
        if artifact_dir is None:
            raise UserError(f"artifacts of {tracking.tracking_uri()} are not on this machine; "
                            "serve the store with a local --default-artifact-root")
        activate(RunContext(tracking.tracking_uri(), config.input_dir, config.pins, artifact_dir))
        roots = [registry[name](run_id=run.run_id) for name in config.run.tasks]
        dag = list(execution.walk(roots))
        record_inputs(run, config, dag, git.diff if git and git.dirty else "")
        print(f"run {run.run_id} in experiment {config.run.experiment_name!r}: "
              f"{' + '.join(config.run.tasks)}", flush=True)
        try:
            result = execution.execute(roots, options.workers, options.scheduler_url)
        finally:
            run.log_artifact(log_file, "logs")
        run.failed = not execution.succeeded(result)
    report(run, result.summary_text if run.failed else "")
    return ExitCode.TASK_FAILED if run.failed else ExitCode.OK


def record_inputs(run: TrackedRun, config: config_file.ExperimentConfig, dag: list[RunTask],
                  diff: str) -> None:
    """Log what made this run: config files, every task parameter, reused outputs, the diff."""
    import toml

    from framework.execution import producer_run

    params = {f"{task.task_family}.{key}": value for task in dag
              for key, value in task.to_str_params(only_significant=True).items()
              if key != "run_id"}
    run.log_params(params)
    run.log_artifact(config.path, "config")
    run.log_text(toml.dumps(config.document), "effective_config.toml")
    if diff:
        run.log_text(diff, "git.diff")
    reused = {f"reused.{task.task_family}": source for task in dag
              if task.output().exists() and (source := producer_run(task)) != run.run_id}
    run.set_tags(reused)


def report(run: TrackedRun, failure_summary: str) -> None:
    """The closing lines: status, run id, and how to look at it."""
    if failure_summary:
        print(failure_summary.strip(), flush=True)
    print(f"{run.status} run {run.run_id} (experiment id {run.experiment_id})\n"
          f"  browse: `docker compose up` (or see README: Browse results), then open "
          f"http://127.0.0.1:{UI_PORT}/#/experiments/{run.experiment_id}/runs/{run.run_id}",
          flush=True)
