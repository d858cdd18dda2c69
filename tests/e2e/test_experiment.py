"""Experiments worth tracking: metrics, plots and a self-contained model on every run.

End to end like tests/e2e/test_runner.py: each test runs ``python src/runner.py`` in a throw-away
copy of the project and reads the outcome back through MLflow's own client and files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from support.project import SEED_CONFIG, Project, copy_project, one_line_error, task_lines

CV_METRICS = tuple(f"cv_{name}_{stat}" for name in ("accuracy", "f1", "roc_auc")
                   for stat in ("mean", "std"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("confusion_matrix.png", "roc_curve.png")
# The shipped experiment should clearly beat the seed's three-column RidgeClassifier.
SHIPPED_MIN_ACCURACY = 0.83


# Runs in a fresh interpreter, outside the project: -I drops PYTHONPATH, the script's folder
# and user site-packages from sys.path, and the cwd is a folder without the project's code.
PREDICT_SCRIPT = """
import importlib.util, json, sys
import pandas as pd

model_dir, test_csv = sys.argv[1], sys.argv[2]
for package in ("tabular", "titanic"):
    assert importlib.util.find_spec(package) is None, "importable: " + repr(sys.path)
import mlflow.pyfunc

model = mlflow.pyfunc.load_model(model_dir)
raw = pd.read_csv(test_csv)
predictions = model.predict(raw)
import tabular, titanic

print(json.dumps({"titanic": titanic.__file__, "tabular": tabular.__file__,
                  "columns": list(raw.columns),
                  "ids": [int(v) for v in raw["PassengerId"]],
                  "survived": [int(v) for v in predictions]}))
"""


def artifacts_of(run) -> Path:
    return Path(run.info.artifact_uri)


def client_of(project: Project):
    from mlflow.tracking import MlflowClient

    return MlflowClient(project.tracking_uri)


def finished_run(project: Project, *args: str):
    """Run the runner with ``args``, expect success, return (completed process, newest run)."""
    result = project.run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, project.runs()[0]


def assert_png(path: Path) -> None:
    """``path`` is a real, non-blank PNG image of a plausible plot size."""
    import matplotlib.image

    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), f"{path.name} is not a PNG"
    assert len(data) > 5_000, f"{path.name} is only {len(data)} bytes"
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert height >= 200 and width >= 200, f"{path.name} is {width}x{height}"
    assert image.std() > 0, f"{path.name} is blank"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """The shipped luigi.toml, run once for the module: (project, its single run)."""
    project = copy_project(tmp_path_factory.mktemp("shipped") / "project", titanic_dir)
    project.use_shipped_config()
    _, run = finished_run(project)
    return project, run


def test_the_shipped_experiment_logs_cross_validated_metrics(shipped):
    project, run = shipped
    metrics = client_of(project).get_run(run.info.run_id).data.metrics
    assert set(CV_METRICS) <= set(metrics)
    assert metrics["cv_accuracy_mean"] >= SHIPPED_MIN_ACCURACY
    for name in ("accuracy", "f1", "roc_auc"):
        assert 0 < metrics[f"cv_{name}_mean"] <= 1
        assert 0 <= metrics[f"cv_{name}_std"] < 0.2
    assert run.data.params["Evaluator.folds"] == "5"


def test_the_shipped_task_list_runs_every_task(shipped):
    _, run = shipped
    assert run.data.tags["task"] == "Evaluator,Prediction"
    for task in ("Preprocessor", "Trainer", "Evaluator", "Prediction"):
        assert (artifacts_of(run) / task / "_manifest.json").is_file()


def test_the_evaluator_folder_holds_plots_and_the_logged_metrics(shipped):
    project, run = shipped
    listed = {item.path for item in client_of(project).list_artifacts(run.info.run_id,
                                                                       "Evaluator")}
    assert {f"Evaluator/{name}" for name in (*PLOTS, "metrics.json")} <= listed
    folder = artifacts_of(run) / "Evaluator"
    for name in PLOTS:
        assert_png(folder / name)
    written = json.loads((folder / "metrics.json").read_text())
    logged = client_of(project).get_run(run.info.run_id).data.metrics
    assert written == {name: logged[name] for name in CV_METRICS}


def test_the_saved_model_predicts_the_submission_from_raw_rows_without_the_project(
        shipped, titanic_dir: Path, tmp_path: Path):
    project, run = shipped
    model_dir = artifacts_of(run) / "Trainer" / "model"
    script = tmp_path / "predict.py"
    script.write_text(PREDICT_SCRIPT)
    result = subprocess.run(
        [sys.executable, "-I", str(script), str(model_dir), str(titanic_dir / "test.csv")],
        cwd=tmp_path, env=project.env(), capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # Kaggle's file as is, Name/Ticket/Cabin included: the model picks its own columns.
    assert {"Name", "Ticket", "Cabin"} <= set(answer["columns"])
    assert Path(answer["titanic"]).is_relative_to(model_dir)
    assert Path(answer["tabular"]).is_relative_to(model_dir)
    submission = pd.read_csv(artifacts_of(run) / "Prediction" / "submission.csv")
    assert answer["ids"] == submission["PassengerId"].tolist()
    assert answer["survived"] == submission["Survived"].tolist()


def test_the_saved_model_has_a_signature_and_an_input_example(shipped):
    from mlflow.models import Model

    _, run = shipped
    model_dir = artifacts_of(run) / "Trainer" / "model"
    model = Model.load(str(model_dir / "MLmodel"))
    assert model.signature is not None
    inputs = set(model.signature.inputs.input_names())
    assert {"Pclass", "Sex", "Age", "Fare", "Embarked", "Name"} <= inputs
    assert "Survived" not in inputs
    example = model.load_input_example(str(model_dir))
    assert isinstance(example, pd.DataFrame) and len(example) > 0
    assert inputs <= set(example.columns)


@pytest.mark.parametrize(("override", "named"), [
    ("Trainer.estimator=sklearn.ensemble.RandomForestClasifier",
     ("RandomForestClasifier", "sklearn.ensemble.RandomForestClassifier")),
    ("Trainer.estimator=sklearn.ensemble.RandomForestRegressor",
     ("RandomForestRegressor", "not a classifier, and the problem is binary")),
    ("Trainer.estimator_params={max_dept=3}", ("max_dept", "max_depth")),
    ("Trainer.estimator_params={n_estimators=-5}", ("n_estimators", "-5")),
], ids=["misspelt-class", "regressor", "misspelt-param", "bad-value"])
def test_a_bad_estimator_is_one_line_and_leaves_no_run(project: Project, override, named):
    result = project.run("--set", override)
    assert result.returncode == 2, result.stdout + result.stderr
    error = one_line_error(result)
    assert error.startswith(f"error: --set {override!r}: Trainer: ")  # the flag that set it
    for word in named:
        assert word in error
    assert project.all_runs() == []
    assert "running" not in result.stdout


def test_the_seed_ridge_config_evaluates_with_a_lower_accuracy(project: Project, shipped):
    _, shipped_run = shipped
    project.write_config(SEED_CONFIG)
    _, run = finished_run(project, "--task", "Evaluator")
    assert run.data.params["Trainer.estimator"] == "sklearn.linear_model.RidgeClassifier"
    metrics = run.data.metrics
    assert set(CV_METRICS) <= set(metrics)
    assert 0.5 < metrics["cv_accuracy_mean"] < shipped_run.data.metrics["cv_accuracy_mean"]
    for name in PLOTS:  # Ridge has no predict_proba: the ROC curve uses its decision function
        assert_png(artifacts_of(run) / "Evaluator" / name)
    assert not (artifacts_of(run) / "Prediction").exists()


@pytest.fixture(scope="module")
def autologged(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """The shipped experiment with ``Trainer.autolog=true``: (project, process, runs)."""
    project = copy_project(tmp_path_factory.mktemp("autolog") / "project", titanic_dir)
    result = project.run("--set", "Trainer.autolog=true")
    return project, result, project.runs()


def test_autolog_metrics_land_on_the_finished_run(autologged):
    _, result, runs = autologged
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert f"FINISHED run {run.info.run_id}" in result.stdout
    assert run.data.params["Trainer.autolog"] == "True"
    assert any(name.startswith("training_") for name in run.data.metrics)
    assert set(CV_METRICS) <= set(run.data.metrics)


def test_autolog_opens_no_run_besides_the_experiments_own(autologged):
    """Autolog is switched off after the Trainer's fit, so the Evaluator's CV fits open none."""
    project, result, runs = autologged
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(runs) == 1
    assert [run.info.run_id for run in project.all_runs()] == [runs[0].info.run_id]


def test_a_list_of_tasks_runs_each_of_them(project: Project):
    config = project.root / "luigi.toml"
    text = config.read_text()
    assert 'task = ["Evaluator", "Prediction"]' in text
    project.write_config(text.replace('task = ["Evaluator", "Prediction"]', 'task = "Trainer"'))
    result, run = finished_run(project, "--task", "Evaluator", "--task", "Prediction")
    assert run.data.tags["task"] == "Evaluator,Prediction"
    for task in ("Preprocessor", "Trainer", "Evaluator", "Prediction"):
        assert task_lines(result.stdout)[task][-1].startswith("ran "), result.stdout
        assert (artifacts_of(run) / task / "_manifest.json").is_file()
    assert set(CV_METRICS) <= set(run.data.metrics)


def test_a_reused_evaluator_still_puts_its_metrics_on_the_new_run(project: Project):
    _, first = finished_run(project)
    result, second = finished_run(project)
    assert second.info.run_id != first.info.run_id
    plan, progress = task_lines(result.stdout)["Evaluator"]
    assert plan.startswith(f"reuse from run {first.info.run_id}")
    assert progress == (f"skipped reused from run {first.info.run_id}: "
                        f"{artifacts_of(first) / 'Evaluator'}")
    assert second.data.tags["reused.Evaluator"] == first.info.run_id
    assert not (artifacts_of(second) / "Evaluator").exists()
    assert {name: second.data.metrics[name] for name in CV_METRICS} == {
        name: first.data.metrics[name] for name in CV_METRICS}
