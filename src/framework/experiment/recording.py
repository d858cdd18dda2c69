"""What a run records about itself, beyond the tasks' own output: inputs, lineage, models.

- ``record_inputs``: config, parameters, the plan, signatures, output folders, the git diff;
- ``record_lineage``: for tasks an earlier output stands in for, a link to the run that made
  it (in the description and as tags), its metrics logged again, its logged model linked;
- ``record_datasets``: the raw tables of every task (``RunTask.datasets()``);
- ``register_models``: ``[RunConfig] register_model`` after a successful run;
- ``record_adopted``: tasks another runner computed meanwhile (shared work), as reused.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.names import (
    CONFIG_FOLDER,
    DESCRIPTION_TAG,
    EFFECTIVE_CONFIG_ARTIFACT,
    GIT_DIFF_ARTIFACT,
    MANIFEST_METRICS_KEY,
    MANIFEST_METRICS_MODEL_KEY,
    MANIFEST_PARAMS_KEY,
    PLAN_ARTIFACT,
    REUSED_TAG,
    SOURCE_NAME_TAG,
    accepted_pin_tag,
    configured_tag,
    output_tag,
    reused_tag,
)
from framework.outputs.folder import OutputFolder
from framework.store import datasets, models, ui
from framework.task.adoption import adopt
from framework.task.context import current_run

if TYPE_CHECKING:
    from framework.config.file import ExperimentConfig
    from framework.planning.planner import Decision
    from framework.store.tracking import TrackedRun
    from framework.task.run_task import RunTask

ACCEPTED = "ACCEPTED"  # how the planner marks an accepted pin mismatch
ADOPTED_REASON = "another runner computed it meanwhile"


def source_tags() -> dict[str, str]:
    """MLflow's ``mlflow.source.*`` tags for the entry point (the UI's Source column).

    MLflow itself names a local script by its absolute path, and so does the runner. The git
    commit and branch come from ``gitinfo``; ``mlflow.source.type`` from ``tracked_run``.
    """
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return {SOURCE_NAME_TAG: str(Path(main).resolve()) if main else "src/runner.py"}


def reused_tasks(decisions: list[Decision]) -> dict[str, str]:
    """Task -> source run, for tasks an earlier output stands in for."""
    return {d.task: d.source_run or "?" for d in decisions if d.action in ("reuse", "pinned")}


def task_params(task: RunTask, decision: Decision) -> tuple[dict[str, str], dict[str, str]]:
    """(params to log, extra tags) for one task.

    An accepted pin was made with other parameters: the run logs the ones that made the
    output it uses (from its manifest), so params and metrics agree, and keeps the config's
    differing values as ``config.<Task>.<param>`` tags.
    """
    configured = task.parameters()
    if decision.action != "pinned" or ACCEPTED not in decision.reason:
        return configured, {}
    stored = (OutputFolder(Path(str(decision.folder)), task.task_family).manifest() or {})
    made_with = {str(k): str(v) for k, v in dict(stored.get(MANIFEST_PARAMS_KEY) or {}).items()}
    tags = {configured_tag(task.task_family, key): value for key, value in configured.items()
            if made_with.get(key) != value}
    return made_with or configured, tags


def record_inputs(run: TrackedRun, config: ExperimentConfig, dag: list[RunTask],
                  decisions: list[Decision], diff: str) -> None:
    """Log what made this run: config, parameters, the plan, signatures, sources, the diff."""
    import toml

    from framework.planning.planner import output_tag, render, signature_tag

    by_task = {d.task: d for d in decisions}
    params: dict[str, str] = {}
    config_tags: dict[str, str] = {}
    for task in dag:
        logged, tags = task_params(task, by_task[task.task_family])
        params |= {f"{task.task_family}.{key}": value for key, value in logged.items()}
        config_tags |= tags
    # Settings of a task outside the DAG that another one used (the Trainer's, when only the
    # Evaluator runs): logged under their own task's name, as if it ran.
    families = {task.task_family for task in dag}
    params |= {key: value for task in dag for key, value in task.borrowed_parameters().items()
               if key.partition(".")[0] not in families}
    run.log_params({**params, **flattened(params)})
    run.log_artifact(config.path, CONFIG_FOLDER)
    run.log_text(toml.dumps(config.document), EFFECTIVE_CONFIG_ARTIFACT)
    run.log_text(render(decisions) + "\n", PLAN_ARTIFACT)
    if diff:
        run.log_text(diff, GIT_DIFF_ARTIFACT)
    running = {d.task for d in decisions if d.action == "run"}
    outputs = {task.task_family: task.output().path for task in dag
               if task.task_family in running}
    run.set_tags({
        **{key: value for task in dag for key, value in task.run_tags().items()},
        **{signature_tag(d.task): d.signature.digest for d in decisions},
        **{output_tag(task): str(folder) for task, folder in outputs.items()},
        **{reused_tag(task): source for task, source in reused_tasks(decisions).items()},
        **{accepted_pin_tag(d.task): d.reason for d in decisions if ACCEPTED in d.reason},
        **config_tags,
    })


def lineage_note(description: str, decisions: list[Decision],
                 experiments: Mapping[str, str]) -> str:
    """The run's description plus a markdown list of reused outputs with links to their runs.

    ``experiments`` maps source run ids to their experiment ids (a reused output may come
    from another experiment); a run not in it is named without a link.
    """
    lines = []
    for d in decisions:
        if d.action not in ("reuse", "pinned"):
            continue
        source = d.source_run or "?"
        link = (f"[{source[:8]}]({ui.run_route(experiments[source], source)})"
                if source in experiments else source)
        how = "pinned" if d.action == "pinned" else "reused"
        lines.append(f"- **{d.task}**: {how} from run {link} ({d.reason})")
    if not lines:
        return description
    section = "#### Reused outputs\n\n" + "\n".join(lines)
    return f"{description}\n\n{section}" if description else section


def record_lineage(run: TrackedRun, dag: list[RunTask], decisions: list[Decision],
                   description: str) -> None:
    """Say where reused outputs came from; log their metrics; link their logged models."""
    from mlflow.exceptions import MlflowException

    from framework.store.tracking import log_metrics, tracking_uri

    reused = reused_tasks(decisions)
    experiments: dict[str, str] = {}
    for source in set(reused.values()):
        # A pinned folder from another store has no run here: it is named, not linked.
        with contextlib.suppress(MlflowException):
            experiments[source] = run.client.get_run(source).info.experiment_id
    run.set_tags({REUSED_TAG: ",".join(reused),
                  DESCRIPTION_TAG: lineage_note(description, decisions, experiments)})
    linked: list[str] = []
    for task in dag:
        if task.task_family not in reused:
            continue
        manifest = task.output().manifest() or {}
        metrics_model = manifest.get(MANIFEST_METRICS_MODEL_KEY)
        # Logged again for this run, but not again for the model: its page would list each
        # reuse as another evaluation (checked in the UI). The model is linked as an input.
        if manifest.get(MANIFEST_METRICS_KEY):
            log_metrics(tracking_uri(), run.run_id, manifest[MANIFEST_METRICS_KEY])
        own = models.model_id_of(task.output()) if task.model_folder else None
        linked += [str(found) for found in (own, metrics_model) if found]
    models.link_inputs(run.client, run.run_id, linked)


def record_datasets(run: TrackedRun, dag: list[RunTask]) -> None:
    datasets.log_datasets(run.client, run.run_id,
                          [raw for task in dag for raw in task.datasets()])


def register_models(run: TrackedRun, config: ExperimentConfig, dag: list[RunTask]) -> None:
    """Register the logged model of every model task under ``[RunConfig] register_model``."""
    from framework.experiment.serving import serve_command

    name = config.run.register_model
    if not name:
        return
    for task in dag:
        model_id = models.model_id_of(task.output()) if task.model_folder else None
        if model_id:
            version = models.register(run.client, name, model_id)
            print(f"  {task.task_family:<14} model {model_id} is version {version} of "
                  f"registered model {name!r}\n  serve it: "
                  f"{serve_command(f'models:/{name}/{version}', run.client.tracking_uri)}",
                  flush=True)


def flattened(params: dict[str, str]) -> dict[str, str]:
    """Every key of every table parameter as its own ``Task.param.key`` parameter, so the
    MLflow UI can sort, filter and plot by it (the table itself is logged as JSON too)."""
    flat: dict[str, str] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                visit(f"{prefix}.{key}", inner)
        elif prefix not in params:
            flat[prefix] = json.dumps(value) if isinstance(value, list) else str(value)

    for name, text in params.items():
        if text.startswith("{"):
            try:
                table = json.loads(text)
            except ValueError:
                continue
            if isinstance(table, dict):
                for key, inner in table.items():
                    visit(f"{name}.{key}", inner)
    return flat


def record_adopted(run: TrackedRun, dag: Sequence[RunTask], decisions: Sequence[Decision],
                   description: str) -> list[Decision]:
    """Record the tasks this run planned to compute but another run computed meanwhile as
    reused from that run (tags, description, metrics, models, ``plan.txt``); the plan as it
    turned out."""
    from framework.planning.planner import render

    by_task: Mapping[str, Decision] = {d.task: d for d in decisions}
    changed: dict[str, Decision] = {}
    for task in dag:
        decision = by_task[task.task_family]
        if decision.action != "run" or task.task_family not in current_run().work_ids:
            continue
        own = OutputFolder(current_run().output_dir(task.task_family), task.task_family)
        if own.exists() or (found := adopt(task.task_family, task.work_id, task.run_id,
                                           task.required_files)) is None:
            continue
        changed[task.task_family] = replace(decision, action="reuse", folder=found[0],
                                            source_run=found[1], reason=ADOPTED_REASON)
    if not changed:
        return list(decisions)
    for name in changed:  # this run wrote no such folder
        key = output_tag(name)
        run.retry(partial(run.client.delete_tag, run.run_id, key), f"tag {key}")
    final = [changed.get(d.task, d) for d in decisions]
    run.set_tags({reused_tag(name): d.source_run for name, d in changed.items()})
    record_lineage(run, [t for t in dag if t.task_family in changed], final,
                             description)
    run.log_text(render(final) + "\n", PLAN_ARTIFACT)
    return final
