"""Addresses in the MLflow UI, and what the UI needs to know about our experiments.

MLflow 3.17's UI opens an experiment in its GenAI mode unless the address says otherwise
(checked in Chromium: the experiment tag alone does not switch it), so every link the runner
prints or writes carries ``workflowType=machine_learning``, which opens the runs table and run
pages in model-training mode. The links are hash routes, so they work relative to wherever the
UI is served; ``UI_BASE`` is the address of the shipped ``docker compose up``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from framework.core.names import EXPERIMENT_KIND_TAG, SHARED_VIEW_TAG_PREFIX

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

UI_BASE = "http://127.0.0.1:5000"
MODE = "workflowType=machine_learning"
# The experiment tag MLflow uses to tell model-training experiments from GenAI ones.
KIND = "custom_model_development"
# The runs-table view the runner saves on each experiment (see ``show_metrics``).
VIEW_KEY = "runner-metrics"
# The UI's own default columns (MLflow 3.17), kept in front of the metrics.
DEFAULT_COLUMNS = ("attributes.`Source`", "attributes.`Models`", "attributes.`Dataset`")
METRIC_WIDTH = 150  # pixels: room for a name like cv_accuracy_mean


def run_route(experiment_id: str, run_id: str) -> str:
    """The in-app route of a run's page, in model-training mode (``#/...``)."""
    return f"#/experiments/{experiment_id}/runs/{run_id}?{MODE}"


def experiment_route(experiment_id: str) -> str:
    """The in-app route of an experiment's runs table, in model-training mode."""
    return f"#/experiments/{experiment_id}/runs?{MODE}"


def model_route(experiment_id: str, model_id: str) -> str:
    """The in-app route of a logged model's page, in model-training mode."""
    return f"#/experiments/{experiment_id}/models/{model_id}?{MODE}"


def run_url(experiment_id: str, run_id: str, base: str = UI_BASE) -> str:
    return f"{base}/{run_route(experiment_id, run_id)}"


def experiment_url(experiment_id: str, base: str = UI_BASE) -> str:
    return f"{base}/{experiment_route(experiment_id)}"


def metrics_view_url(experiment_id: str, base: str = UI_BASE) -> str:
    """The runs table with the view ``show_metrics`` saved: the headline metric's columns."""
    return f"{experiment_url(experiment_id, base)}&viewStateShareKey={VIEW_KEY}"


def show_metrics(client: MlflowClient, experiment_id: str, metrics: Sequence[str]) -> None:
    """Save a runs-table view on the experiment that shows ``metrics`` as columns.

    MLflow 3.17's runs table shows no metric or parameter until the user picks them; its
    columns are browser state, except for a *shared view*: an experiment tag
    ``mlflow.sharedViewState.<key>`` holding the view's JSON, opened by the address
    ``metrics_view_url`` (checked in Chromium: tests/services/test_browser.py). The UI then
    offers to keep the view ("Override saved view").
    """
    if not metrics:
        return
    shown = [f"metrics.`{name}`" for name in metrics]
    # First after the pinned run name and date: on the first screen, also of a laptop.
    view = json.dumps({"selectedColumns": [*DEFAULT_COLUMNS, *shown],
                       "columnOrder": [*shown, *DEFAULT_COLUMNS],
                       "columnWidths": dict.fromkeys(shown, METRIC_WIDTH)})
    tag = SHARED_VIEW_TAG_PREFIX + VIEW_KEY
    if client.get_experiment(experiment_id).tags.get(tag) != view:
        set_tag(client, experiment_id, tag, view)


def mark_training_experiment(client: MlflowClient, experiment_id: str) -> None:
    """Tag the experiment as model development unless it already says what it is."""
    experiment = client.get_experiment(experiment_id)
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        set_tag(client, experiment_id, EXPERIMENT_KIND_TAG, KIND)


# MLflow sets an experiment tag by looking it up, then inserting it, without a lock: runners
# starting together in a new experiment both insert, and the slower breaks the tags table's
# key (sqlite: "UNIQUE constraint failed: experiment_tags.…", PostgreSQL: "experiment_tag_pk").
TAG_RACE_MARKERS = ("UNIQUE constraint failed: experiment_tags.", '"experiment_tag_pk"')


def lost_tag_race(error: Exception) -> bool:
    """True when ``error`` is another runner having inserted the same experiment tag first."""
    return any(marker in str(error) for marker in TAG_RACE_MARKERS)


def set_tag(client: MlflowClient, experiment_id: str, key: str, value: str) -> None:
    """``set_experiment_tag``, made again (then finding the row) when another runner set the
    same tag at the same moment."""
    from framework.store.connection import retrying

    retrying(lambda: client.set_experiment_tag(experiment_id, key, value),
             f"tagging experiment {experiment_id}", client.tracking_uri, lost_race=lost_tag_race)
