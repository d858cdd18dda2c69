"""What a run tells MLflow about where it came from: source, datasets, models, reuse.

Three real runs of the seed config (Evaluator + Prediction) share one store: a fresh one that
registers its model, a fully reused one, and one that pins the Trainer to the first run's
output against a changed config (``--accept-pin``) and forces Evaluator and Prediction to run
again. Everything is read back through MLflow's own client, and the model is served by
``mlflow models predict``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow.entities import LoggedModelStatus
from mlflow.tracking import MlflowClient

from support.project import SEED_CONFIG, Project, copy_project, one_line_error, task_lines

TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")
ROOTS = ("--task", "Evaluator", "--task", "Prediction")
MODE = "workflowType=machine_learning"


@dataclass(frozen=True)
class Runs:
    project: Project
    client: MlflowClient
    fresh: object
    reused: object
    pinned: object
    outputs: dict[str, subprocess.CompletedProcess[str]]

    def manifest(self, task: str) -> dict:
        folder = Path(self.fresh.data.tags[f"output.{task}"])  # type: ignore[attr-defined]
        return json.loads((folder / "_manifest.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Iterator[Runs]:
    project = copy_project(tmp_path_factory.mktemp("lineage") / "project", titanic_dir)
    project.write_config(SEED_CONFIG.replace('task="Prediction"',
                                             'task="Prediction"\nregister_model="titanic"'))
    project.git("commit", "-qam", "register the model")
    outputs = {"fresh": project.run(*ROOTS), "reused": project.run(*ROOTS)}
    fresh_id = project.runs()[1].info.run_id
    outputs["pinned"] = project.run(
        *ROOTS, "--set", f'PathConfig.Trainer="runs:/{fresh_id}"', "--set", "Trainer.seed=1",
        "--accept-pin", "Trainer", "--force", "Evaluator", "--force", "Prediction")
    for name, result in outputs.items():
        assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
    client = MlflowClient(project.tracking_uri)
    # get_run, not search_runs: only it returns a run's model inputs and outputs.
    pinned, reused, fresh = (client.get_run(run.info.run_id) for run in project.runs())
    yield Runs(project, client, fresh, reused, pinned, outputs)


def test_the_experiment_is_a_model_training_experiment(runs: Runs):
    experiment = runs.client.get_experiment(runs.fresh.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_the_printed_link_opens_the_run_in_model_training_mode(runs: Runs):
    info = runs.reused.info
    assert (f"http://127.0.0.1:5000/#/experiments/{info.experiment_id}/runs/{info.run_id}"
            f"?{MODE}") in runs.outputs["reused"].stdout


def test_source_tags_name_the_entry_point_and_commit(runs: Runs):
    for run in (runs.fresh, runs.reused):
        tags = run.data.tags
        assert Path(tags["mlflow.source.name"]) == runs.project.root / "src" / "runner.py"
        assert tags["mlflow.source.type"] == "LOCAL"
        assert tags["mlflow.source.git.commit"] == runs.project.git("rev-parse", "HEAD")
        assert tags["mlflow.source.git.branch"] == "main"


def dataset_entries(run) -> list[tuple[str, str, str, str]]:
    return sorted((entry.dataset.name, entry.dataset.digest, entry.dataset.source,
                   {tag.key: tag.value for tag in entry.tags}["mlflow.data.context"])
                  for entry in run.inputs.dataset_inputs)


def test_raw_tables_are_dataset_inputs_of_fresh_and_reused_runs(runs: Runs):
    entries = dataset_entries(runs.fresh)
    assert [(name, context) for name, _, _, context in entries] == [
        ("test.csv", "test"), ("train.csv", "training")]
    assert str(runs.project.root / "input" / "train.csv") in entries[1][2]
    assert dataset_entries(runs.reused) == entries
    (train,) = [entry.dataset for entry in runs.fresh.inputs.dataset_inputs
                if entry.dataset.name == "train.csv"]
    assert json.loads(train.profile)["num_rows"] == 891
    assert "Survived" in train.schema


def test_the_trainer_output_is_a_logged_model_of_the_run_that_made_it(runs: Runs):
    model_id = runs.manifest("Trainer")["model_id"]
    model = runs.client.get_logged_model(model_id)
    assert model.status == LoggedModelStatus.READY
    # Named for what it is (experiment and estimator), and so are the runs.
    assert model.name == "titanic-RidgeClassifier"
    assert runs.fresh.info.run_name == "RidgeClassifier"
    assert runs.reused.info.run_name == "RidgeClassifier, all reused"
    assert model.source_run_id == runs.fresh.info.run_id
    assert model.params["seed"] == "0"
    assert [o.model_id for o in runs.fresh.outputs.model_outputs] == [model_id]
    # Its metrics are the Evaluator's, once: the reused run logged them for itself only.
    assert {m.key: m.value for m in model.metrics} == runs.fresh.data.metrics
    assert {m.run_id for m in model.metrics} >= {runs.fresh.info.run_id}
    assert runs.reused.info.run_id not in {m.run_id for m in model.metrics}


def test_runs_that_reuse_the_model_are_linked_to_the_same_model(runs: Runs):
    model_id = runs.manifest("Trainer")["model_id"]
    for run in (runs.reused, runs.pinned):
        assert [i.model_id for i in run.inputs.model_inputs] == [model_id]
    made = runs.client.search_logged_models([runs.fresh.info.experiment_id])
    assert [m.model_id for m in made] == [model_id]


def test_the_model_is_registered_once(runs: Runs):
    model_id = runs.manifest("Trainer")["model_id"]
    versions = runs.client.search_model_versions("name = 'titanic'")
    assert [(str(v.version), v.source) for v in versions] == [("1", f"models:/{model_id}")]
    assert runs.client.get_model_version("titanic", "1").run_id == runs.fresh.info.run_id
    assert "version 1 of registered model 'titanic'" in runs.outputs["fresh"].stdout


def test_reused_metrics_are_logged_again_and_stored_with_the_output(runs: Runs):
    stored = runs.manifest("Evaluator")["metrics"]
    assert stored == runs.fresh.data.metrics
    assert runs.reused.data.metrics == runs.fresh.data.metrics
    assert {"cv_accuracy_mean", "cv_roc_auc_std"} <= set(stored)


def test_lineage_is_in_the_description_and_a_searchable_tag(runs: Runs):
    fresh, reused = runs.fresh.info, runs.reused.info
    assert runs.fresh.data.tags["reused"] == ""
    # DAG order: the Evaluator needs only the Preprocessor, the Trainer comes with Prediction.
    assert runs.reused.data.tags["reused"] == "Preprocessor,Evaluator,Trainer,Prediction"
    note = runs.reused.data.tags["mlflow.note.content"]
    assert note.startswith("概要\n\n")
    link = f"(#/experiments/{fresh.experiment_id}/runs/{fresh.run_id}?{MODE})"
    assert all(f"**{task}**: reused from run [{fresh.run_id[:8]}]{link}" in note
               for task in TASKS)
    computed_all = runs.client.search_runs([fresh.experiment_id], "tags.reused = ''")
    assert [run.info.run_id for run in computed_all] == [fresh.run_id]
    assert reused.run_id != fresh.run_id


def test_an_accepted_pin_logs_the_params_its_output_was_made_with(runs: Runs):
    run = runs.pinned
    assert run.data.params["Trainer.seed"] == "0"
    assert run.data.tags["config.Trainer.seed"] == "1"
    assert run.data.tags["reused"] == "Preprocessor,Trainer"
    assert "**Trainer**: pinned from run" in run.data.tags["mlflow.note.content"]
    # The Evaluator ran again, on the configured settings (seed 1), not on the pinned model
    # (seed 0): its new metrics are not credited to that model.
    model = runs.client.get_logged_model(runs.manifest("Trainer")["model_id"])
    assert run.info.run_id not in {m.run_id for m in model.metrics}
    folder = Path(run.data.tags["output.Evaluator"])
    evaluated = json.loads((folder / "_manifest.json").read_text())["signature_parts"]["params"]
    assert evaluated["Trainer.seed"] == "1"


def test_each_progress_event_is_printed_once(runs: Runs):
    # Both roots ran, so Luigi reached the reused Preprocessor and pinned Trainer twice.
    lines = task_lines(runs.outputs["pinned"].stdout)
    for task in ("Preprocessor", "Trainer"):
        assert len([line for line in lines[task] if line.startswith("skipped")]) == 1, lines


def test_mlflow_models_predict_serves_the_logged_model(runs: Runs, tmp_path: Path):
    model_id = runs.manifest("Trainer")["model_id"]
    rows = pd.read_csv(runs.project.root / "input" / "test.csv").head(5)
    rows[["PassengerId", "Pclass", "SibSp", "Parch"]].to_csv(tmp_path / "in.csv", index=False)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mlflow"), "models", "predict", "-m",
         f"models:/{model_id}", "-i", str(tmp_path / "in.csv"), "-t", "csv",
         "-o", str(tmp_path / "out.json"), "--env-manager", "local"],
        env=runs.project.env(MLFLOW_TRACKING_URI=runs.project.tracking_uri),
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    predictions = json.loads((tmp_path / "out.json").read_text())["predictions"]
    assert len(predictions) == 5 and set(predictions) <= {0, 1}


def test_a_bad_register_model_is_refused_before_any_run(project: Project):
    result = project.run("--set", "RunConfig.register_model=3")
    assert result.returncode == 2
    assert "RunConfig.register_model must be a non-empty string" in one_line_error(result)
    assert project.all_runs() == []


def test_the_printed_serve_command_works_as_written(runs: Runs, tmp_path: Path):
    """In a shell without the venv on PATH nor MLFLOW_TRACKING_URI: the command sets both."""
    import os
    import signal
    import time

    from support.servers import free_port, http

    (line,) = (line for line in runs.outputs["fresh"].stdout.splitlines() if "serve it:" in line)
    command = line.split("serve it: ", 1)[1]
    assert "models:/titanic/1 " in command and command.endswith("--port 5001")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen(["bash", "-c", command.replace("5001", str(port))],
                              cwd=runs.project.root, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status = time.monotonic() + 120, 0
        while status != 200 and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                status, _ = http("GET", f"http://127.0.0.1:{port}/ping", timeout=2)
            except OSError:
                continue
        assert status == 200, (tmp_path / "serve.log").read_text()[-3000:]
        row = {"PassengerId": 892, "Pclass": 3, "SibSp": 0, "Parch": 0}
        status, body = http("POST", f"http://127.0.0.1:{port}/invocations",
                            body=json.dumps({"dataframe_records": [row]}).encode(),
                            headers={"Content-Type": "application/json"}, timeout=30)
        assert status == 200 and json.loads(body)["predictions"][0] in (0, 1), body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
