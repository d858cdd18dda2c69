"""`reproduce` of what it cannot or must carry over: a sweep's or study's parent (refused), a run
that accepted a pin that differs (accepted again, as the run did), and a run that reused an
upstream output (verified as identical as one that computed everything).

Runs made once for the module: A (seed 0), P (Trainer pinned to A's with seed 1, accepted), a
two-configuration grid and a two-trial study.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support.project import Project, copy_project, one_line_error
from support.verbs import new_run, new_sweep


@dataclass
class Store:
    project: Project
    a: str
    pinned: str
    grid: str
    study: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Store:
    project = copy_project(tmp_path_factory.mktemp("reproduce") / "project", titanic_dir)
    a = new_run(project)
    pinned = new_run(project, "--set", f'PathConfig.Trainer="runs:/{a}"', "--set",
                     "Trainer.seed=1", "--accept-pin", "Trainer")
    grid = new_sweep(project, "--sweep", "Evaluator.seed=[3,4]")
    study = new_sweep(project, "--sweep", "method=tpe", "--sweep", "trials=2", "--sweep",
                      "Trainer.estimator_params.max_depth={randint=[2,8]}")
    return Store(project, a, pinned, grid, study)


def client_of(project: Project):
    from mlflow.tracking import MlflowClient

    return MlflowClient(project.tracking_uri)


@pytest.mark.parametrize(("parent", "kind"), [("grid", "a sweep's"),
                                              ("study", "an adaptive study's")])
def test_a_sweep_or_study_parent_is_refused_in_one_line_and_no_run(store, parent, kind):
    before = len(store.project.all_runs())
    result = store.project.run("reproduce", getattr(store, parent))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"is {kind} parent; reproduce one of its configurations" in one_line_error(result)
    assert len(store.project.all_runs()) == before


def test_a_run_that_accepted_a_pin_reproduces_with_it(store):
    assert "pin.accepted.Trainer" in client_of(store.project).get_run(store.pinned).data.tags
    result = store.project.run("reproduce", store.pinned, "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"accepting the pins run {store.pinned} accepted: Trainer" in result.stdout
    assert "reproduced: every prediction and metric is identical" in result.stdout
    made = client_of(store.project).search_runs(
        [client_of(store.project).get_run(store.pinned).info.experiment_id],
        f"tags.reproduces = '{store.pinned}'")
    assert len(made) == 1
    assert made[0].data.tags["reused.Trainer"] == store.a
    assert "Trainer.seed 0 -> 1" in made[0].data.tags["pin.accepted.Trainer"]


def test_verify_of_a_run_that_reused_its_preprocessor_finds_the_same_model_bytes(store):
    # The run's Trainer read an earlier run's fitted features back from disk; the reproduction
    # fits them in the same process as its Trainer. The model must not be written differently.
    reused = new_run(store.project, "--set", "Trainer.seed=3")
    assert "reused.Preprocessor" in client_of(store.project).get_run(reused).data.tags
    result = store.project.run("reproduce", reused, "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\ndiffer:\n" not in result.stdout, result.stdout
    assert "reproduced: every prediction and metric is identical" in result.stdout


def test_a_differing_pin_reproduce_does_not_know_of_says_how_to_accept_it(store):
    # Without its tag, reproduce does not know the run accepted the pin: the runner refuses it,
    # and its advice must be a command that works for reproduce, not "remove the pin".
    project, client = store.project, client_of(store.project)
    forgot = new_run(project, "--set", f'PathConfig.Trainer="runs:/{store.a}"', "--set",
                     "Trainer.seed=2", "--accept-pin", "Trainer")
    client.delete_tag(forgot, "pin.accepted.Trainer")
    before = len(project.all_runs())
    refused = project.run("reproduce", forgot)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    advice = f"python src/runner.py reproduce {forgot} --accept-pin Trainer"
    assert one_line_error(refused).endswith(advice)
    assert len(project.all_runs()) == before
    accepted = project.run(*advice.split()[2:])
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert len(project.all_runs()) == before + 1


def test_a_commit_tag_that_is_not_a_commit_id_is_refused_not_read_as_a_git_option(store):
    from framework.verbs.common import git_tags

    client, tag = client_of(store.project), git_tags()[0]
    recorded = client.get_run(store.a).data.tags[tag]
    before = len(store.project.all_runs())
    client.set_tag(store.a, tag, "--lock")  # edited in the MLflow UI, or on a team server
    try:
        result = store.project.run("reproduce", store.a)
    finally:
        client.set_tag(store.a, tag, recorded)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "records git commit '--lock', which is not a commit id" in one_line_error(result)
    assert len(store.project.all_runs()) == before
    worktrees = store.project.git("worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1, worktrees
