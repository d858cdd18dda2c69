"""End to end: ``python src/runner.py`` on the Titanic data, one real MLflow run per call.

Every run here starts a fresh interpreter (``Project.cold``), exactly as a user's command does;
the other end-to-end files run most commands in forks of a warm one (``support/warm.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from support.project import SEED_CONFIG, Project, copy_project, task_lines

PIPELINE = ("Preprocessor", "Trainer", "Prediction")


def artifacts_of(run) -> Path:
    return Path(run.info.artifact_uri)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """The template's config, run once for the module on a project without a store (the run
    creates it): (project, completed process, its run). Tests may add runs, not change it."""
    project = copy_project(tmp_path_factory.mktemp("first") / "project", titanic_dir)
    project.cold = True
    project.remove_store()
    result = project.run()
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = project.runs()
    return project, result, run


@pytest.fixture
def project(project: Project) -> Project:
    """conftest's project, run cold."""
    project.cold = True
    return project


def test_a_run_logs_config_params_and_commit_and_writes_every_task_folder(first_run):
    project, result, run = first_run
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.source.git.commit"] == project.git("rev-parse", "HEAD")
    assert run.data.tags["git.dirty"] == "false"
    assert run.data.tags["mlflow.note.content"]
    assert run.data.params["Trainer.seed"] == "0"
    assert "Preprocessor.train_columns" in run.data.params
    artifacts = artifacts_of(run)
    experiment, run_id = run.info.experiment_id, run.info.run_id
    assert artifacts == project.root / "mlruns" / experiment / run_id / "artifacts"
    config = (project.root / "luigi.toml").read_text()
    assert (artifacts / "config" / "luigi.toml").read_text() == config
    assert (artifacts / "effective_config.toml").is_file()
    assert "Trainer" in (artifacts / "logs" / "luigi.log").read_text()
    for task in PIPELINE:
        assert manifest(artifacts / task)["run_id"] == run.info.run_id
    submission = pd.read_csv(artifacts / "Prediction" / "submission.csv")
    assert list(submission.columns) == ["PassengerId", "Survived"]
    assert len(submission) == 418
    assert set(submission["Survived"]) <= {0, 1}
    assert run.info.run_id in result.stdout and "FINISHED" in result.stdout


def test_the_seed_articles_config_runs_unchanged(project: Project):
    project.write_config(SEED_CONFIG)
    result = project.run()
    assert result.returncode == 0, result.stderr
    (run,) = project.runs()
    assert run.data.params["Preprocessor.train_columns"] == (
        '["PassengerId", "Survived", "Pclass", "SibSp", "Parch"]')
    submission = pd.read_csv(artifacts_of(run) / "Prediction" / "submission.csv")
    assert len(submission) == 418


def test_pathconfig_pins_reuse_an_earlier_runs_outputs(first_run):
    project, _, first = first_run
    earlier = artifacts_of(first)
    result = project.run("--set", f'PathConfig.Preprocessor="{earlier / "Preprocessor"}"',
                         "--set", f'PathConfig.Trainer="{earlier / "Trainer"}"',
                         "--task", "Prediction", "--no-reuse")  # pins only, as in the seed
    assert result.returncode == 0, result.stderr
    lines = task_lines(result.stdout)  # the plan line, then the progress lines
    assert lines["Preprocessor"] == [
        f"pinned from run {first.info.run_id} (signature matches)",
        f"skipped reused from run {first.info.run_id}: {earlier / 'Preprocessor'}"]
    assert lines["Trainer"][-1].startswith(f"skipped reused from run {first.info.run_id}")
    assert lines["Prediction"][1:] == ["running", lines["Prediction"][-1]]
    assert lines["Prediction"][-1].startswith("ran")
    second = project.runs()[0]
    assert second.info.run_id != first.info.run_id
    assert second.data.tags["reused.Trainer"] == first.info.run_id
    assert second.data.tags["reused.Preprocessor"] == first.info.run_id
    assert not (artifacts_of(second) / "Trainer").exists()
    before = (earlier / "Prediction" / "submission.csv").read_text()
    assert (artifacts_of(second) / "Prediction" / "submission.csv").read_text() == before


def test_overrides_are_what_gets_logged(project: Project):
    result = project.run("--set", "Trainer.seed=7", "--task", "Trainer")
    assert result.returncode == 0, result.stderr
    (run,) = project.runs()
    assert run.data.params["Trainer.seed"] == "7"
    assert "seed = 7" in (artifacts_of(run) / "effective_config.toml").read_text()
    assert not (artifacts_of(run) / "Prediction").exists()


def test_a_dirty_tree_is_flagged_and_its_diff_kept(project: Project):
    # A new config file of one's own is logged with the run: it does not make the tree dirty.
    shipped = (project.root / "luigi.toml").read_text()
    mine = project.write_config(shipped.replace('description = "', 'description = "mine '),
                                "mine.toml")
    clean = project.run("--config", mine.name, "--task", "Preprocessor")
    assert clean.returncode == 0, clean.stderr
    assert project.runs()[0].data.tags["git.dirty"] == "false"
    assert "description = \"mine" in (artifacts_of(project.runs()[0]) / "config" / "mine.toml"
                                       ).read_text()
    # Edited code, and a new Python file, do.
    init = project.root / "src" / "tasks" / "__init__.py"
    init.write_text(init.read_text() + "# dirty\n")
    (project.root / "src" / "scratch.py").write_text("")
    result = project.run("--config", mine.name, "--task", "Preprocessor")
    assert result.returncode == 0, result.stderr
    run = project.runs()[0]
    assert run.data.tags["git.dirty"] == "true"
    diff = (artifacts_of(run) / "git.diff").read_text()
    assert "+# dirty" in diff and "#   src/scratch.py" in diff and "#   mine.toml" in diff


def test_paths_resolve_from_the_project_root_not_the_current_folder(project: Project, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(project.root / "src" / "runner.py"), "--task", "Preprocessor"],
        cwd=tmp_path, env=project.env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert len(project.runs()) == 1
    assert not (tmp_path / "mlruns").exists()


def test_help_explains_the_options(project: Project):
    result = project.run("--help")
    assert result.returncode == 0
    for option in ("--config", "--task", "--set", "--workers", "--scheduler-url", "--verbose"):
        assert option in result.stdout
