"""Sweeps: one parent run, one nested child run per configuration, compared at a glance.

One sweep of the seed config (three ridge ``alpha`` values, Evaluator + Prediction) is run once
for the module; the tests read what it recorded through MLflow's own client.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from support.project import SEED_CONFIG, Project, copy_project, one_line_error

ALPHAS = [0.1, 1.0, 10.0]
SWEEP_CONFIG = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]') + f"""
[Sweep]
"Trainer.estimator_params.alpha" = {json.dumps(ALPHAS)}
register = "titanic-ridge"
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    project = copy_project(tmp_path_factory.mktemp("sweep") / "project", titanic_dir)
    project.write_config(SWEEP_CONFIG)
    result = project.run()
    assert result.returncode == 0, result.stdout + result.stderr
    runs = project.runs()
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.data.tags for r in runs]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return project, result, parents[0], children


def alpha_of(run) -> float:
    return float(run.data.params["Trainer.estimator_params.alpha"])


def test_every_configuration_is_a_finished_child_of_one_parent(swept):
    _, _, parent, children = swept
    assert parent.info.status == "FINISHED"
    assert sorted(alpha_of(child) for child in children) == ALPHAS
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        assert "cv_accuracy_mean" in child.data.metrics
        # Named for what it tried, not MLflow's made-up names.
        assert child.info.run_name == f"Trainer.estimator_params.alpha={alpha_of(child)}"
    assert parent.info.run_name == "sweep of 3: Trainer.estimator_params.alpha"


def links_in(description: str) -> dict[str, str]:
    """Run id prefix -> the route of each markdown run link in a description."""
    return dict(re.findall(r"\[([0-9a-f]{8})\]\((#/experiments/\d+/runs/[0-9a-f]+\?[^)]*)\)",
                           description))


def test_table_parameters_are_logged_flattened_and_whole(swept):
    _, _, _, children = swept
    for child in children:
        whole = json.loads(child.data.params["Trainer.estimator_params"])
        assert whole == {"alpha": alpha_of(child)}


def test_the_grid_shares_one_preprocessor(swept):
    _, result, _, children = swept
    made = [c for c in children if "output.Preprocessor" in c.data.tags]
    assert len(made) == 1, result.stdout
    for child in children:
        if child is not made[0]:
            assert child.data.tags["reused.Preprocessor"] == made[0].info.run_id
        assert "output.Trainer" in child.data.tags  # each configuration trains its own


def test_the_parent_holds_the_comparison_and_the_best_configuration(swept):
    _project, result, parent, children = swept
    folder = Path(parent.info.artifact_uri)
    with (folder / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_run = {c.info.run_id: c for c in children}
    assert {row["run_id"] for row in rows} == set(by_run)
    for row in rows:
        child = by_run[row["run_id"]]
        assert float(row["Trainer.estimator_params.alpha"]) == alpha_of(child)
        assert float(row["cv_accuracy_mean"]) == pytest.approx(
            child.data.metrics["cv_accuracy_mean"])
    scores = [float(row["cv_accuracy_mean"]) for row in rows]
    assert scores == sorted(scores, reverse=True)  # best first
    assert (folder / "sweep.png").read_bytes().startswith(b"\x89PNG")
    best = max(children, key=lambda c: (c.data.metrics["cv_accuracy_mean"], -alpha_of(c)))
    assert parent.data.tags["sweep.best_run_id"] == best.info.run_id
    assert parent.data.metrics["best.cv_accuracy_mean"] == best.data.metrics["cv_accuracy_mean"]
    assert json.loads(parent.data.params["sweep.Trainer.estimator_params.alpha"]) == ALPHAS
    assert "3/3 done" in result.stdout and "best first by cv_accuracy_mean" in result.stdout


def test_the_best_model_is_registered_with_the_alias_best(swept):
    from mlflow.tracking import MlflowClient

    project, _, parent, _ = swept
    version = MlflowClient(project.tracking_uri).get_model_version_by_alias("titanic-ridge",
                                                                           "best")
    assert version.run_id == parent.data.tags["sweep.best_run_id"]
    assert Path(version.source, "MLmodel").is_file()


def test_a_rerun_reuses_every_configuration(swept):
    project, _, first, children = swept
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert " running" not in result.stdout
    newest = project.runs()[0]
    assert newest.info.run_id != first.info.run_id and "mlflow.parentRunId" not in newest.data.tags
    assert newest.data.tags["sweep.best_run_id"] == first.data.tags["sweep.best_run_id"]
    assert result.stdout.count("REUSED") >= len(children)
    # Nothing ran, so the parent has no children: its description links the runs that hold
    # each configuration's results, and the best one.
    from framework.store.ui import run_route

    best = first.data.tags["sweep.best_run_id"]
    note = newest.data.tags["mlflow.note.content"]
    links = links_in(note)
    assert links == {c.info.run_id[:8]: run_route(c.info.experiment_id, c.info.run_id)
                     for c in children}
    assert f"**Best** by cv_accuracy_mean (maximize): run [{best[:8]}]" in note
    assert note.count("| REUSED |") == len(children)


def test_dotted_set_changes_one_key_of_a_table_and_keeps_the_rest(project: Project):
    project.write_config(SEED_CONFIG.replace("[Trainer]\n", "[Trainer]\nestimator_params = "
                                             "{ alpha = 1.0, fit_intercept = false }\n"))
    result = project.run("--set", "Trainer.estimator_params.alpha=3.0")
    assert result.returncode == 0, result.stderr
    (run,) = project.runs()
    params = run.data.params
    assert json.loads(params["Trainer.estimator_params"]) == {"alpha": 3.0,
                                                              "fit_intercept": False}
    assert params["Trainer.estimator_params.alpha"] == "3.0"
    assert params["Trainer.estimator_params.fit_intercept"] == "False"


@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "Trainr.seed=1"], "--set 'Trainr.seed=1': unknown section [Trainr]"),
    (["--set", "Trainer.seed.x=1"], "--set 'Trainer.seed.x=1': Trainer.seed = 0 is not a table"),
    (["--sweep", "Trainer.estimator_params.alpha=[1.0, -1.0]"],
     "sweep configuration 2/2 (Trainer.estimator_params.alpha=-1.0): --sweep "
     "'Trainer.estimator_params.alpha=[1.0, -1.0]': Trainer: invalid Trainer.estimator_params"),
    (["--sweep", "Trainer.seed=[0, 1.5]"], "--sweep 'Trainer.seed=[0, 1.5]': Trainer.seed = 1.5 "
                                           "has the wrong type"),
    (["--sweep", "Trainer.sed=[0, 1]"], "--sweep 'Trainer.sed=[0, 1]': unknown key Trainer.sed "
                                        "(did you mean 'seed'?)"),
])
def test_bad_set_and_sweep_values_exit_2_naming_the_flag_with_no_run(project: Project, args,
                                                                      expected):
    project.write_config(SEED_CONFIG)
    result = project.run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in one_line_error(result)
    assert project.all_runs() == []


def test_a_random_sweep_samples_scipy_distributions(project: Project):
    project.write_config(SEED_CONFIG)
    result = project.run("--dry-run", "--sweep", "method=random", "--sweep", "samples=4",
                         "--sweep", "Trainer.estimator_params.alpha={loguniform=[0.001, 0.1]}",
                         "--sweep", "Trainer.seed={randint=[2, 8]}")
    assert result.returncode == 0, result.stderr
    points = [line for line in result.stdout.splitlines() if line.startswith("Trainer.")]
    assert len(points) == 4, result.stdout
    for line in points:
        values = dict(part.split("=") for part in line.split())
        assert 0.001 <= float(values["Trainer.estimator_params.alpha"]) <= 0.1
        assert int(values["Trainer.seed"]) in range(2, 8)
    assert project.all_runs() == []
