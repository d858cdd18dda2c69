"""What a run records about itself, beyond the tasks' own output: inputs, lineage, models.

- ``record_inputs``: config, parameters, the plan, signatures, output folders, the git diff;
- ``record_lineage``: for tasks an earlier output stands in for, a link to the run that made
  it (in the description and as tags), its metrics logged again, its logged model linked;
- ``record_datasets``: the raw tables of every task (``RunTask.datasets()``);
- ``register_models``: ``[RunConfig] register_model`` after a successful run.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import datasets, models, ui
from framework.outputs import OutputFolder

if TYPE_CHECKING:
    from framework.config import ExperimentConfig
    from framework.reuse import Decision
    from framework.run_task import RunTask
    from framework.tracking import TrackedRun

REUSED_TAG = "reused"  # "Preprocessor,Trainer"; "" when the run computed everything
ACCEPTED = "ACCEPTED"  # how the planner marks an accepted pin mismatch
DESCRIPTION_TAG = "mlflow.note.content"


def source_tags() -> dict[str, str]:
    """MLflow's ``mlflow.source.*`` tags for the entry point (the UI's Source column).

    MLflow itself names a local script by its absolute path, and so does the runner. The git
    commit and branch come from ``gitinfo``; ``mlflow.source.type`` from ``tracked_run``.
    """
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return {"mlflow.source.name": str(Path(main).resolve()) if main else "src/runner.py"}


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
    made_with = {str(k): str(v) for k, v in dict(stored.get("params") or {}).items()}
    tags = {f"config.{task.task_family}.{key}": value for key, value in configured.items()
            if made_with.get(key) != value}
    return made_with or configured, tags


def record_inputs(run: TrackedRun, config: ExperimentConfig, dag: list[RunTask],
                  decisions: list[Decision], diff: str) -> None:
    """Log what made this run: config, parameters, the plan, signatures, sources, the diff."""
    import toml

    from framework.reuse import output_tag, render, signature_tag

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
    run.log_artifact(config.path, "config")
    run.log_text(toml.dumps(config.document), "effective_config.toml")
    run.log_text(render(decisions) + "\n", "plan.txt")
    if diff:
        run.log_text(diff, "git.diff")
    running = {d.task for d in decisions if d.action == "run"}
    outputs = {task.task_family: task.output().path for task in dag
               if task.task_family in running}
    run.set_tags({
        **{key: value for task in dag for key, value in task.run_tags().items()},
        **{signature_tag(d.task): d.signature.digest for d in decisions},
        **{output_tag(task): str(folder) for task, folder in outputs.items()},
        **{f"reused.{task}": source for task, source in reused_tasks(decisions).items()},
        **{f"pin.accepted.{d.task}": d.reason for d in decisions if ACCEPTED in d.reason},
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

    from framework.run_task import METRICS_KEY, METRICS_MODEL_KEY
    from framework.tracking import log_metrics, tracking_uri

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
        metrics_model = manifest.get(METRICS_MODEL_KEY)
        # Logged again for this run, but not again for the model: its page would list each
        # reuse as another evaluation (checked in the UI). The model is linked as an input.
        if manifest.get(METRICS_KEY):
            log_metrics(tracking_uri(), run.run_id, manifest[METRICS_KEY])
        own = models.model_id_of(task.output()) if task.model_folder else None
        linked += [str(found) for found in (own, metrics_model) if found]
    models.link_inputs(run.client, run.run_id, linked)


def record_datasets(run: TrackedRun, dag: list[RunTask]) -> None:
    datasets.log_datasets(run.client, run.run_id, dag)


def register_models(run: TrackedRun, config: ExperimentConfig, dag: list[RunTask]) -> None:
    """Register the logged model of every model task under ``[RunConfig] register_model``."""
    name = config.run.register_model
    if not name:
        return
    for task in dag:
        model_id = models.model_id_of(task.output()) if task.model_folder else None
        if model_id:
            version = models.register(run.client, name, model_id)
            print(f"  {task.task_family:<14} model {model_id} is version {version} of "
                  f"registered model {name!r}", flush=True)


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
