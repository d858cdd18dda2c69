"""Reuse by signature: never compute the same thing twice, never reuse the wrong thing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import Project, copy_project, one_line_error, task_lines

if TYPE_CHECKING:
    from mlflow.entities import Run

TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")


def artifacts(run) -> Path:
    return Path(run.info.artifact_uri)


def ran(stdout: str) -> set[str]:
    """Tasks that actually ran in this invocation."""
    return {task for task, lines in task_lines(stdout).items()
            if any(line.startswith("ran") for line in lines)}


def plan_of(stdout: str) -> dict[str, str]:
    """Task -> planned action, from the plan block the runner prints."""
    actions = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in TASKS and parts[1] in ("run", "reuse", "pinned", "skip"):
            actions[parts[0]] = parts[1]
    return actions


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path
         ) -> tuple[Project, Path, Run]:
    """The template's experiment (20 trees: reuse does not depend on the model's size), run
    once for the module: the project, a snapshot of it, and the run."""
    project = copy_project(tmp_path_factory.mktemp("reuse") / "project", titanic_dir)
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == set(TASKS)
    return project, project.snapshot(), project.runs()[0]


@pytest.fixture
def project(made: tuple[Project, Path, Run]) -> Project:
    """The module's project as it was right after its first run, whatever the test before
    changed: each test starts from one real run of every task, without computing it again."""
    project, snapshot, _ = made
    project.restore(snapshot)
    return project


@pytest.fixture
def first(made: tuple[Project, Path, Run]) -> Run:
    return made[2]


NEW_TASK = """
from framework.task.run_task import RunTask
from tasks.trainer import Trainer


class Explainer(RunTask):
    def requires(self):
        return {"model": self.upstream(Trainer)}

    def produce(self, out):
        (out / "explained.txt").write_text("ok")
"""


def test_an_identical_rerun_reuses_every_task_and_names_the_source(project: Project, first):
    # Adding a task is adding a module: no shared file changes, so no signature changes.
    (project.root / "src" / "tasks" / "explainer.py").write_text(NEW_TASK)
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == set()
    second = project.runs()[0]
    for task in TASKS:
        assert second.data.tags[f"reused.{task}"] == first.info.run_id
        assert second.data.tags[f"signature.{task}"] == first.data.tags[f"signature.{task}"]
        assert not (artifacts(second) / task).exists()
    assert second.data.metrics["cv_accuracy_mean"] == first.data.metrics["cv_accuracy_mean"]
    explained = project.run("--task", "Explainer")
    assert explained.returncode == 0, explained.stderr
    assert ran(explained.stdout) == {"Explainer"}


def test_a_parameter_change_reruns_that_task_and_downstream_only(project: Project, first):
    result = project.run("--set", "Trainer.seed=1")
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == {"Trainer", "Evaluator", "Prediction"}
    assert "parameter Trainer.seed 0 -> 1" in result.stdout
    assert project.runs()[0].data.tags["reused.Preprocessor"] == first.info.run_id


def test_an_input_change_reruns_everything_that_reads_it(project: Project, first):
    train = project.root / "input" / "train.csv"
    train.write_text(train.read_text().replace(",7.25,", ",7.3,", 1))
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == set(TASKS)
    assert "input train.csv changed" in result.stdout


def test_a_code_change_reruns_the_tasks_that_use_it_but_a_comment_does_not(project: Project,
                                                                           first):
    model = project.root / "src" / "tabular" / "estimators.py"
    model.write_text(model.read_text() + "\n# a comment changes nothing\n")
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == set(), result.stdout
    model.write_text(model.read_text() + "\nUNUSED_CONSTANT = 1\n")
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == {"Trainer", "Evaluator", "Prediction"}
    assert "code of tabular/estimators.py changed" in result.stdout


def test_force_and_no_reuse_opt_out(project: Project, first):
    forced = project.run("--force", "Trainer")
    assert forced.returncode == 0, forced.stderr
    # The Evaluator cross-validates the Trainer's settings, not its fit: refitting is no reason.
    assert ran(forced.stdout) == {"Trainer", "Prediction"}
    fresh = project.run("--no-reuse", "--task", "Preprocessor")
    assert fresh.returncode == 0, fresh.stderr
    assert ran(fresh.stdout) == {"Preprocessor"}


def test_a_stale_pin_is_refused_with_the_difference_unless_accepted(project: Project, first):
    pin = f'PathConfig.Trainer="{artifacts(first) / "Trainer"}"'
    refused = project.run("--set", pin, "--set", "Trainer.seed=1")
    assert refused.returncode == 2
    assert "parameter Trainer.seed 0 -> 1" in one_line_error(refused)
    assert len(project.all_runs()) == 1

    accepted = project.run("--set", pin, "--set", "Trainer.seed=1", "--accept-pin", "Trainer")
    assert accepted.returncode == 0, accepted.stderr
    assert "Trainer" not in ran(accepted.stdout)
    tags = project.runs()[0].data.tags
    assert "Trainer.seed 0 -> 1" in tags["pin.accepted.Trainer"]
    assert tags["reused.Trainer"] == first.info.run_id


def test_a_pin_may_name_a_run(project: Project, first):
    result = project.run("--set", f'PathConfig.Trainer="runs:/{first.info.run_id}"',
                         "--task", "Prediction", "--no-reuse")
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == {"Preprocessor", "Prediction"}
    assert project.runs()[0].data.tags["reused.Trainer"] == first.info.run_id


def test_a_tampered_output_is_never_used(project: Project, first):
    model = artifacts(first) / "Trainer" / "model" / "model.pkl"
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    pinned = project.run("--set", f'PathConfig.Trainer="{artifacts(first) / "Trainer"}"')
    assert pinned.returncode == 2
    assert "checksum" in one_line_error(pinned)
    downstream_intact = project.run("--dry-run")
    assert plan_of(downstream_intact.stdout) == {
        "Preprocessor": "reuse", "Trainer": "skip", "Evaluator": "reuse", "Prediction": "reuse"}
    result = project.run("--task", "Trainer")
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == {"Trainer"}
    rerun = project.runs()[0]
    assert rerun.data.tags["output.Trainer"] == str(artifacts(rerun) / "Trainer")


def test_dry_run_creates_no_run_and_tells_what_a_real_run_does(project: Project, first):
    dry = project.run("--dry-run", "--set", "Trainer.seed=2")
    assert dry.returncode == 0, dry.stderr
    assert len(project.all_runs()) == 1
    predicted = plan_of(dry.stdout)
    assert predicted == {"Preprocessor": "reuse", "Trainer": "run", "Evaluator": "run",
                         "Prediction": "run"}
    real = project.run("--set", "Trainer.seed=2")
    assert real.returncode == 0, real.stderr
    assert ran(real.stdout) == {task for task, action in predicted.items() if action == "run"}
    plan_artifact = (artifacts(project.runs()[0]) / "plan.txt").read_text()
    assert plan_of(plan_artifact) == predicted


def test_reuse_still_finds_the_producer_after_many_runs_that_reused_it(project: Project, first):
    """Runs that only reused an output carry its signature too; they must not hide the run
    that made it, however many there are."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(project.tracking_uri)
    tags = {key: value for key, value in first.data.tags.items()
            if key.startswith("signature.")}
    tags |= {f"reused.{task}": first.info.run_id for task in TASKS}
    for _ in range(25):
        client.set_terminated(client.create_run(first.info.experiment_id, tags=tags).info.run_id)
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == set()
    assert project.runs()[0].data.tags["reused.Trainer"] == first.info.run_id


MY_MODELS = """
from sklearn.linear_model import RidgeClassifier


class MyClassifier(RidgeClassifier):
    pass
"""


def test_the_code_of_an_estimator_in_the_project_counts(project: Project):
    (project.root / "src" / "my_models.py").write_text(MY_MODELS)
    use_mine = ("--set", "Trainer.estimator=my_models.MyClassifier",
                "--set", "Trainer.estimator_params={}", "--task", "Trainer")
    assert project.run(*use_mine).returncode == 0
    (project.root / "src" / "my_models.py").write_text(MY_MODELS + "\nALPHA = 2.0\n")
    result = project.run(*use_mine)
    assert result.returncode == 0, result.stderr
    assert ran(result.stdout) == {"Trainer"}
    assert "code of my_models.py changed" in result.stdout


def test_engine_edits_recompute_nothing_but_an_edit_of_your_features_does(project: Project,
                                                                          first):
    """Signatures follow the user's code, not the engine's bookkeeping (issue 16)."""
    extra = "\n\ndef worded_differently() -> str:\n    return 'a new way to say it'\n"
    for engine_module in ("experiment/recording.py", "store/ui.py", "store/tracking.py"):
        path = project.root / "src" / "framework" / engine_module
        path.write_text(path.read_text() + extra)
    unchanged = project.run("--dry-run")
    assert unchanged.returncode == 0, unchanged.stderr
    assert plan_of(unchanged.stdout) == dict.fromkeys(TASKS, "reuse"), unchanged.stdout

    features = project.root / "src" / "titanic" / "features.py"
    features.write_text(features.read_text() + "\nRARE_TITLE = 'Rare'\n")
    changed = project.run("--dry-run")
    assert changed.returncode == 0, changed.stderr
    assert plan_of(changed.stdout) == dict.fromkeys(TASKS, "run"), changed.stdout
    assert "Preprocessor   run     (new signature: code of titanic/features.py changed)" \
        in changed.stdout
