"""Metrics that score another task's model without reading it: linked once the DAG has run.

A task that sets ``RunTask.scores_model_of`` (the Evaluator: ``"Trainer"``) scores the model
that task builds from the same settings (its ``borrowed_parameters``), without depending on it,
so the two may run in any order, or the model never (a pruned trial, ``task = "Evaluator"``).
When both are in the DAG, the task's metrics are logged after the DAG has run, linked to that
task's logged model when the model was made with the very settings that were scored; a model
made otherwise (an accepted pin with other settings) is not credited with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from framework.core.names import MANIFEST_METRICS_KEY, MANIFEST_PARAMS_KEY, MANIFEST_RUN_KEY
from framework.store import models, tracking
from framework.task.context import current_run

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from framework.task.run_task import RunTask


def scored_model(task: RunTask, model_task: RunTask) -> tuple[str | None, str | None]:
    """(logged model id, run that made it) of ``model_task``'s complete output when it was
    made with the settings ``task`` scored; else (None, None)."""
    output = model_task.output()
    manifest = output.manifest() if output.exists() else None
    model_id = models.model_id_of(output) if manifest else None
    if manifest is None or model_id is None:
        return None, None
    made_with = {str(k): str(v) for k, v in dict(manifest.get(MANIFEST_PARAMS_KEY) or {}).items()}
    prefix = f"{model_task.task_family}."
    same = all(made_with.get(key.removeprefix(prefix)) == value
               for key, value in task.borrowed_parameters().items() if key.startswith(prefix))
    return (model_id, str(manifest.get(MANIFEST_RUN_KEY))) if same else (None, None)


def link_scores(client: MlflowClient, run_id: str, dag: Sequence[RunTask]) -> None:
    """Log the deferred metrics of the DAG's scoring tasks on ``run_id``, with their model.

    Metrics this run has not logged yet (the task ran here) are logged now, linked to the
    model when there is a matching one. Metrics already on the run (a reused output, or a
    task that ran before the model task joined the run) are logged again only to link them
    to a model this run made, whose page would otherwise show no scores.
    """

    by_family = {task.task_family: task for task in dag}
    logged = None
    for task in dag:
        model_task = by_family.get(task.scores_model_of or "")
        manifest = task.output().manifest() if model_task is not None else None
        if model_task is None or not manifest or not manifest.get(MANIFEST_METRICS_KEY):
            continue
        metrics = {str(k): float(v) for k, v in dict(manifest[MANIFEST_METRICS_KEY]).items()}
        model_id, made_by = scored_model(task, model_task)
        if logged is None:
            logged = client.get_run(run_id).data.metrics
        already = all(logged.get(key) == value for key, value in metrics.items())
        if not already or (model_id and made_by == run_id):
            tracking.log_metrics(current_run().tracking_uri, run_id, metrics, model_id=model_id)
