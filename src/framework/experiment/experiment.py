"""One experiment, start to finish: check everything, plan, open the run, run, close the run.

The order matters. Every check that can fail on the user's input runs before the MLflow run is
created, so bad input leaves no trace in the store. Its public steps (``prepare``, ``claim``,
``track_and_execute``, ``report``) are what a sweep runs for each of its configurations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from framework.config import file as config_file
from framework.core import heap
from framework.core.errors import ExitCode, UserError
from framework.core.local_dirs import REMOTE_STAGING
from framework.core.names import LOGS_FOLDER, TASK_TAG
from framework.execution import gc_guard
from framework.experiment.options import Options
from framework.task.dag import walk

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from framework.planning.planner import Decision
    from framework.search.trial import TrialRef
    from framework.store.tracking import TrackedRun
    from framework.task.run_task import RunTask

PLANNING_RUN_ID = "planning"


def run_single(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
               options: Options, project_root: Path) -> ExitCode:
    """Check, plan, claim and run one configuration; the process exit code."""
    client, decisions = prepare(config, registry, options, project_root)
    heap.settle()  # imported and planned: framework/core/heap.py
    if options.dry_run:
        from framework.planning.planner import render

        print(f"plan (dry run, nothing was run or logged):\n{render(decisions)}")
        return ExitCode.OK
    decisions = claim(config, registry, options, client, decisions, project_root)
    try:
        run = track_and_execute(config, registry, options, client, decisions, project_root)
    finally:
        from framework.execution import claims

        claims.release_all()
    return ExitCode.TASK_FAILED if run.failed else ExitCode.OK


def prepare(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
            options: Options, project_root: Path, client: MlflowClient | None = None
            ) -> tuple[MlflowClient, list[Decision]]:
    """Check one configuration, make it Luigi's, and plan it (opening the store if needed)."""
    from framework.config import schema
    from framework.outputs import signing

    signing.signing_key()  # a key too short is bad input, refused before any run
    values = schema.check_sections(config, registry)
    schema.check_task_names([*options.force, *options.accept_pins], registry,
                            "--force/--accept-pin")
    for task in options.accept_pins:  # accepting nothing is a mistake, not a no-op
        if task not in config.pins and task not in config.run_pins:
            raise UserError(f"--accept-pin {task}: [{config_file.PATH_SECTION}] pins no {task} "
                            "output; remove the flag")
    schema.install_luigi_config(config, values, registry)
    if client is None:
        from framework.store.tracking import open_store, tracking_uri

        client = open_store(tracking_uri())
    from framework.store.relocation import check_not_moved

    check_not_moved(client, config.run.experiment_name, project_root)
    if options.reuse and not options.dry_run:  # claims are taken: framework/execution/claims.py
        from framework.execution import claims
        claims.check_folder()
    decisions = plan(config, registry, options, client, project_root / "src")
    if options.scheduler_url:
        from framework.execution.luigi_build import check_scheduler

        check_scheduler(options.scheduler_url)
    return client, decisions


def claim(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
          options: Options, client: MlflowClient, decisions: list[Decision],
          project_root: Path) -> list[Decision]:
    """Claim the outputs the plan computes (framework/execution/claims.py); the plan to execute."""
    if not options.reuse:  # nothing would be reused from the other runner anyway
        return decisions
    from framework.execution import claims
    from framework.store.index import OutputIndex

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


def check_task(task: RunTask, config: config_file.ExperimentConfig) -> None:
    """``task.check()``; its ``UserError`` names the flag that set a value it names
    (``config_file.blamed``): a task knows its keys, not where their values came from."""
    try:
        task.check()
    except UserError as error:
        raise UserError(config_file.blamed(config.origins, str(error))) from None


def plan(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
         options: Options, client: MlflowClient, source_root: Path) -> list[Decision]:
    """Decide, upstream first, how each task of the DAG is satisfied; check what will run."""
    from luigi.task import flatten

    from framework.planning.pins import check_distinct_folders, resolve_run_pins
    from framework.planning.planner import OutputIndex, Planner, prune
    from framework.store.tracking import tracking_uri
    from framework.task.context import RunContext, activate

    gc_guard.hold_shared()  # until the run's tags name what it relies on
    pins = {**config.pins, **resolve_run_pins(config, client)}
    check_distinct_folders(pins)
    activate(RunContext(tracking_uri(), config.input_dir, pins))
    planner = Planner(OutputIndex(client), source_root, pins=pins, force=options.force,
                      accept=options.accept_pins, reuse=options.reuse,
                      experiment=config.run.experiment_name,
                      reproduces=options.reproduces)
    roots = [registry[name](run_id=PLANNING_RUN_ID) for name in config.run.tasks]
    dag = list(walk(roots))
    check_one_instance_per_task(dag)
    requires = {task.task_family: [dep.task_family for dep in flatten(task.requires())]
                for task in dag}
    decisions = prune([planner.decide(task) for task in dag], roots, requires)
    for index, (task, decision) in enumerate(zip(dag, decisions, strict=True)):
        if decision.action == "run":
            check_task(task, config)
            decisions[index] = replace(decision, notes=tuple(task.plan_notes()))
    return decisions


def track_and_execute(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
                      options: Options, client: MlflowClient, decisions: list[Decision],
                      project_root: Path, parent_run_id: str | None = None,
                      trial: TrialRef | None = None, scoring_task: str | None = None,
                      run_name: str | None = None) -> TrackedRun:
    """Open the run, record the experiment, run the DAG and close the run with its outcome.

    ``run_name`` (else what the run trains and reuses, ``run_summary.run_name``) is the name
    the MLflow UI lists it by. With ``trial`` the run is that trial of an adaptive search
    (``experiment/trial_run.py``): ``scoring_task`` runs first, and the rest only if the trial
    is neither pruned nor failed.
    """
    from framework.core.gitinfo import read_git_state
    from framework.core.scratch import scratch_folder
    from framework.execution import luigi_build as execution
    from framework.execution import shared_work as shared
    from framework.experiment import recording, run_summary, scoring, trial_run
    from framework.planning.planner import render
    from framework.search import pruning
    from framework.store import models, tracking, ui
    from framework.task.context import RunContext, activate

    if any(getattr(registry.get(d.task), "model_folder", None)
           for d in decisions if d.action == "run"):
        models.check_only_unproven_requirements()
    git = read_git_state(project_root, (config.path,))
    tags = {TASK_TAG: ",".join(config.run.tasks), **recording.source_tags(),
            **(git.tags() if git else {}), **(trial_run.tags(trial) if trial else {})}
    planned = list(walk([registry[name](run_id=PLANNING_RUN_ID) for name in config.run.tasks]))
    run_name = run_name or run_summary.run_name(planned, decisions, config.run.tasks)
    with scratch_folder() as scratch, tracking.tracked_run(
        client, config.run.experiment_name, config.run.description, tags, parent_run_id,
        run_name
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
        dag = list(walk(roots))
        ui.mark_training_experiment(client, run.experiment_id)
        ui.show_metrics(client, run.experiment_id, run_summary.headline_columns(planned))
        recording.record_inputs(run, config, dag, decisions,
                                git.diff if git and git.dirty else "")
        print(f"run {run.run_id} in experiment {config.run.experiment_name!r}: "
              f"{' + '.join(config.run.tasks)}\nplan:\n{render(decisions)}", flush=True)
        recording.record_lineage(run, dag, decisions, config.run.description)
        gc_guard.release()  # the tags now protect every output this run uses
        recording.record_datasets(run, dag)
        final = decisions
        try:
            pruning.reset()
            if trial is None:
                result = execution.execute(roots, options.workers, options.scheduler_url)
                run.failed = not execution.succeeded(result)
            else:  # a pruned trial's run is not failed (run.failed), nor complete
                result = trial_run.execute(run, roots, dag, scoring_task, options.workers,
                                           options.scheduler_url)[0]
            final = recording.record_adopted(run, dag, decisions, config.run.description)
            scoring.link_scores(run.client, run.run_id, dag)
        finally:
            run.log_artifact(log_file, LOGS_FOLDER)
        if execution.succeeded(result):
            recording.register_models(run, config, dag)
    report(run, result.summary_text if run.failed else "",
           run_summary.result_lines(dag, final))
    return run


def report(run: TrackedRun, failure_summary: str, results: Sequence[str] = ()) -> None:
    """The closing lines: status, run id, how to look at it (in model-training mode), and
    the run's metrics (``results``, from ``run_summary.result_lines``)."""
    from framework.store.ui import metrics_view_url, run_url

    if failure_summary:
        print(failure_summary.strip(), flush=True)
    print(f"{run.status} run {run.run_id} (experiment id {run.experiment_id})\n"
          f"  browse: `docker compose up` (without Docker: docs/what-a-run-records.md), then open "
          f"{run_url(run.experiment_id, run.run_id)}", flush=True)
    if results:
        print(f"  compare runs: {metrics_view_url(run.experiment_id)}\n"
              "result:\n" + "\n".join(results), flush=True)
