"""Any tabular dataset by config: the shipped examples, end to end, without the Titanic code.

The three example configs run in ONE copy of the project from which ``src/titanic`` has been
deleted, so they also show that the framework and the generic tasks do not need it:
- iris: multiclass, string labels, csv with an id column;
- cancer: binary, string labels, parquet tables with custom names, no id column;
- diabetes: regression, csv tables read from members of a zip archive.
Each saved model is loaded with ``mlflow.pyfunc`` in a fresh interpreter outside the project and
must predict the original label values from raw rows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from support.project import Project, copy_project

EXAMPLES = {
    # name: (experiment, problem, metric names, id column, target)
    "iris": ("iris", "multiclass", ("accuracy", "f1_macro", "roc_auc_ovr"), "flower_id",
             "species"),
    "cancer": ("breast-cancer", "binary", ("accuracy", "f1", "roc_auc"), "", "diagnosis"),
    "diabetes": ("diabetes", "regression", ("rmse", "mae", "r2"), "patient", "progression"),
}
PLOTS = {"multiclass": {"confusion_matrix.png"},
         "binary": {"confusion_matrix.png", "roc_curve.png"},
         "regression": {"predicted_vs_true.png"}}

PREDICT = """
import importlib.util, json, sys
for package in ("tabular", "titanic", "tasks"):
    assert importlib.util.find_spec(package) is None, package
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
print(json.dumps([v.item() if hasattr(v, "item") else v
                  for v in model.predict(pd.read_csv(sys.argv[2]))]))
"""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """(project, {name: (completed process, run)}) for the three examples, run side by side."""
    project = copy_project(tmp_path_factory.mktemp("examples") / "project", titanic_dir)
    shutil.rmtree(project.root / "src" / "titanic")
    project.git("add", "-A")
    project.git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "-")
    started = {name: project.start("--config", f"examples/{name}.toml") for name in EXAMPLES}
    outcomes = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}:\n{stdout}\n{stderr}"
        (run,) = project.runs(EXAMPLES[name][0])
        outcomes[name] = (stdout, run)
    return project, outcomes


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example_logs_the_metrics_of_its_problem(examples, name: str):
    _, outcomes = examples
    _, run = outcomes[name]
    _, problem, metrics, _, target = EXAMPLES[name]
    assert run.info.status == "FINISHED"
    assert run.data.tags["problem"] == problem
    assert run.data.tags["target"] == target
    expected = {f"cv_{metric}_{stat}" for metric in metrics for stat in ("mean", "std")}
    assert expected <= set(run.data.metrics), sorted(run.data.metrics)
    evaluator = Path(run.info.artifact_uri) / "Evaluator"
    assert PLOTS[problem] <= {path.name for path in evaluator.glob("*.png")}
    if problem == "regression":
        assert run.data.metrics["cv_r2_mean"] > 0.2
    else:
        assert run.data.metrics["cv_accuracy_mean"] > 0.85


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example_predicts_original_labels_with_its_id_column(examples, name: str):
    _, outcomes = examples
    _, run = outcomes[name]
    _, problem, _, id_column, target = EXAMPLES[name]
    submission = pd.read_csv(Path(run.info.artifact_uri) / "Prediction" / "submission.csv")
    assert list(submission.columns) == ([id_column] if id_column else []) + [target]
    contract = json.loads((Path(run.info.artifact_uri) / "Preprocessor"
                           / "contract.json").read_text())
    if problem != "regression":
        assert set(submission[target]) <= set(contract["classes"])
        assert all(isinstance(label, str) for label in contract["classes"])
    else:
        assert pd.api.types.is_float_dtype(submission[target])


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_saved_model_predicts_the_original_labels_from_raw_rows(
        examples, name: str, tmp_path: Path):
    project, outcomes = examples
    _, run = outcomes[name]
    target = EXAMPLES[name][4]
    raw = raw_test_rows(project, name)
    rows = tmp_path / "rows.csv"
    raw.to_csv(rows, index=False)
    model_dir = Path(run.info.artifact_uri) / "Trainer" / "model"
    answer = subprocess.run([sys.executable, "-I", "-c", PREDICT, str(model_dir), str(rows)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert answer.returncode == 0, answer.stderr
    predicted = json.loads(answer.stdout)
    submission = pd.read_csv(Path(run.info.artifact_uri) / "Prediction" / "submission.csv")
    expected = submission[target].tolist()
    if EXAMPLES[name][1] == "regression":
        assert predicted == pytest.approx(expected)
    else:
        assert predicted == expected


def raw_test_rows(project: Project, name: str) -> pd.DataFrame:
    folder = project.root / "examples" / "data" / name
    if name == "cancer":
        return pd.read_parquet(folder / "new_patients.parquet")
    if name == "diabetes":
        import zipfile

        with zipfile.ZipFile(folder / "diabetes.zip") as archive:
            return pd.read_csv(archive.open("tables/score.csv"))
    return pd.read_csv(folder / "test.csv")


def test_no_example_imported_the_deleted_titanic_package(examples):
    project, outcomes = examples
    assert not (project.root / "src" / "titanic").exists()
    for stdout, run in outcomes.values():
        assert "titanic" not in run.data.params.get("Preprocessor.derived_features", "")
        assert "FINISHED" in stdout
