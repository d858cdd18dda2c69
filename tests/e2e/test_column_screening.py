"""Columns that cannot be features, end to end: a messy csv (2,000 rows: a row number, an email,
a date as text, a constant, a 60-level city) run by ``python src/runner.py``. The plan names
every decision (also in ``plan.txt`` and ``contract.json``), the features follow them, and
``[Preprocessor]`` keys override them."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import toml

from support.project import Project, copy_project
from support.tables import messy_table

DECISIONS = [
    "Preprocessor: dropped 'row' (id-like: integer sequence 1..1,600)",
    "Preprocessor: dropped 'email' (id-like: 1,599 distinct of 1,600)",
    "Preprocessor: turned 'signup' into numeric date features (year, month, day, dayofweek, "
    "epoch_days) (date: format %Y-%m-%d)",
    "Preprocessor: dropped 'plan' (constant: one value 'basic')",
    "Preprocessor: bounded 'city' (high-cardinality: 60 categories): one-hot keeps its 19 most "
    "frequent categories, the rest share one column (max_categories = 20)",
]


def messy_config(**preprocessor: object) -> str:
    return toml.dumps({
        "RunConfig": {"experiment_name": "messy", "task": "Evaluator"},
        "PathConfig": {"input": "./messy/"},
        "Preprocessor": {"target": "label", **preprocessor},
        "Trainer": {"estimator": "sklearn.linear_model.LogisticRegression",
                    "estimator_params": {"max_iter": 500}},
        "Evaluator": {"folds": 2},
    })


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path
          ) -> tuple[Project, dict[str, subprocess.CompletedProcess[str]]]:
    """One real run with the defaults, and dry runs with overrides, side by side."""
    project = copy_project(tmp_path_factory.mktemp("messy") / "project", titanic_dir)
    table = messy_table()
    (project.root / "messy").mkdir()
    table.iloc[:1600].to_csv(project.root / "messy" / "train.csv", index=False)
    table.iloc[1600:].drop(columns="label").to_csv(project.root / "messy" / "test.csv",
                                                   index=False)
    configs = {
        "run": messy_config(),
        "keep": messy_config(keep_columns=["email"], max_categories=0),
        "off": messy_config(detect_columns=False),
        "listed": messy_config(train_columns=["row", "email", "signup", "age"]),
    }
    for name, text in configs.items():
        project.write_config(text, f"{name}.toml")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(project.run, "--config", f"{name}.toml",
                                     *([] if name == "run" else ["--dry-run"]))
                   for name in configs}
        return project, {name: future.result() for name, future in futures.items()}


def plan_notes(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.startswith("    Preprocessor:")]


def test_the_plan_names_every_decision_and_the_run_follows_them(messy):
    project, results = messy
    result = results["run"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_notes(result.stdout) == DECISIONS
    (run,) = project.runs("messy")
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert plan_notes((artifacts / "plan.txt").read_text()) == DECISIONS
    contract = json.loads((artifacts / "Preprocessor" / "contract.json").read_text())
    assert contract["features"] == ["signup", "city", "age"]
    assert [(d["column"], d["action"]) for d in contract["column_decisions"]] == [
        ("row", "dropped"), ("email", "dropped"), ("signup", "dates"), ("plan", "dropped"),
        ("city", "bounded")]
    features = pd.read_parquet(artifacts / "Preprocessor" / "train_features.parquet")
    assert not [name for name in features.columns if "email" in name or "row" in name]
    assert {"signup_year", "signup_epoch_days", "age"} <= set(features.columns)
    assert sum(name.startswith("city_") for name in features.columns) == 20
    assert features.shape[1] == 26


def test_preprocessor_keys_override_the_decisions(messy):
    _, results = messy
    for result in results.values():
        assert result.returncode == 0, result.stdout + result.stderr
    assert plan_notes(results["keep"].stdout) == [
        DECISIONS[0],
        "Preprocessor: kept 'email' (id-like: 1,599 distinct of 1,600): keep_columns lists it",
        *DECISIONS[2:4]]
    assert plan_notes(results["off"].stdout) == []
    assert plan_notes(results["listed"].stdout) == [
        "Preprocessor: kept 'row' (id-like: integer sequence 1..1,600): train_columns lists it",
        "Preprocessor: kept 'email' (id-like: 1,599 distinct of 1,600): train_columns lists it",
        DECISIONS[2]]
