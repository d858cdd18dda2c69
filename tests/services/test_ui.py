"""The UI command from docker-compose.yml serves the runner's runs over HTTP.

One pipeline run of the shipped config in a throw-away project, then the compose ``mlflow``
command started in that project (tests/support/servers.py), then MLflow's REST API and UI routes, as
the browser uses them, checked against what the runner wrote.
"""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from support.project import Project, copy_project
from support.servers import http, running_service

API = "/api/2.0/mlflow"
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true"}
TASK_FOLDERS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")


@dataclass(frozen=True)
class Served:
    """A project with one finished run, and the base URL of the UI serving its store."""

    project: Project
    run_id: str
    url: str


def get_json(url: str) -> dict:
    status, body = http("GET", url)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def post_json(url: str, payload: dict) -> dict:
    status, body = http("POST", url, body=json.dumps(payload).encode(),
                        headers={"Content-Type": "application/json"})
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def as_dict(entries: list[dict]) -> dict:
    """MLflow's ``[{"key": k, "value": v}, ...]`` lists as a mapping."""
    return {entry["key"]: entry["value"] for entry in entries}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Iterator[Served]:
    """The shipped config run once, then the compose ``mlflow`` service started on its store."""
    project = copy_project(tmp_path_factory.mktemp("ui") / "project", titanic_dir)
    result = project.run()
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = project.runs()
    with running_service("mlflow", project.root, extra_env=QUIET_MLFLOW) as url:
        yield Served(project, run.info.run_id, url)


def search_run(served: Served) -> dict:
    """The run, as the experiment page's runs/search request returns it."""
    experiment = get_json(f"{served.url}{API}/experiments/get-by-name?experiment_name=titanic")
    runs = post_json(f"{served.url}{API}/runs/search",
                     {"experiment_ids": [experiment["experiment"]["experiment_id"]]})["runs"]
    assert [run["info"]["run_id"] for run in runs] == [served.run_id]
    return runs[0]


def test_the_experiment_is_found_by_name(served: Served):
    experiment = get_json(f"{served.url}{API}/experiments/get-by-name?experiment_name=titanic")
    assert experiment["experiment"]["name"] == "titanic"
    assert experiment["experiment"]["lifecycle_stage"] == "active"
    (run,) = served.project.runs()
    assert experiment["experiment"]["experiment_id"] == run.info.experiment_id
    # Stored as an absolute path: why compose mounts the project at the same path.
    location = Path(experiment["experiment"]["artifact_location"])
    assert location.is_absolute() and location.is_relative_to(served.project.root / "mlruns")


def test_runs_search_shows_the_finished_run_with_params_and_metrics(served: Served):
    run = search_run(served)
    assert run["info"]["status"] == "FINISHED"
    params = as_dict(run["data"]["params"])
    assert params["Trainer.seed"] == "0"
    assert params["Trainer.estimator"] == "sklearn.ensemble.GradientBoostingClassifier"
    metrics = as_dict(run["data"]["metrics"])
    (logged,) = served.project.runs()
    assert metrics == logged.data.metrics
    assert metrics["cv_accuracy_mean"] >= 0.80
    assert as_dict(run["data"]["tags"])["git.dirty"] == "false"


def test_artifacts_list_shows_every_task_folder_and_the_config(served: Served):
    listing = get_json(f"{served.url}{API}/artifacts/list?run_id={served.run_id}")
    folders = {item["path"] for item in listing["files"] if item["is_dir"]}
    assert {*TASK_FOLDERS, "config"} <= folders
    plots = get_json(f"{served.url}{API}/artifacts/list?run_id={served.run_id}&path=Evaluator")
    assert {"Evaluator/confusion_matrix.png", "Evaluator/roc_curve.png"} <= {
        item["path"] for item in plots["files"]}


def test_get_artifact_returns_the_submission(served: Served):
    query = urllib.parse.urlencode({"path": "Prediction/submission.csv",
                                    "run_uuid": served.run_id})
    status, body = http("GET", f"{served.url}/get-artifact?{query}")
    assert status == 200, body[:500]
    assert body.splitlines()[0] == b"PassengerId,Survived"
    submission = pd.read_csv(io.BytesIO(body))
    assert len(submission) == 418
    (run,) = served.project.runs()
    on_disk = Path(run.info.artifact_uri) / "Prediction" / "submission.csv"
    assert body == on_disk.read_bytes()


def test_the_ui_root_page_answers_on_the_hosts_the_command_allows(served: Served):
    status, page = http("GET", f"{served.url}/", headers={"Host": "localhost:5000"})
    assert status == 200
    assert b"<html" in page.lower()  # the UI itself, as a browser on the published port gets it
    # --allowed-hosts: the compose service name passes, anything else is refused.
    probe = f"{served.url}{API}/experiments/get-by-name?experiment_name=titanic"
    assert http("GET", probe, headers={"Host": "mlflow:5000"})[0] == 200
    assert http("GET", probe, headers={"Host": "localhost:5000"})[0] == 200
    assert http("GET", probe, headers={"Host": "evil.example:5000"})[0] == 403


def test_the_experiment_tells_the_ui_it_is_model_training(served: Served):
    experiment = get_json(f"{served.url}{API}/experiments/get-by-name?experiment_name=titanic")
    tags = as_dict(experiment["experiment"]["tags"])
    assert tags["mlflow.experimentKind"] == "custom_model_development"


def test_runs_search_shows_datasets_and_source(served: Served):
    run = search_run(served)
    names = sorted(entry["dataset"]["name"] for entry in run["inputs"]["dataset_inputs"])
    assert names == ["test.csv", "train.csv"]
    tags = as_dict(run["data"]["tags"])
    assert tags["mlflow.source.name"].endswith("src/runner.py")
    assert tags["reused"] == ""
