"""Bad input, failing tasks, interruptions and parallel workers: every path closes the run."""

from __future__ import annotations

import signal
import time

import pytest

from support.project import Project, one_line_error, task_lines

PROBE_TASKS = '''
"""Tasks a user might add: one that can fail half-way, one that takes its time."""
import time
from pathlib import Path

import luigi

from framework.task.run_task import RunTask


class Flaky(RunTask):
    fail = luigi.BoolParameter(default=False, description="raise half-way through")

    def produce(self, out: Path) -> None:
        (out / "part-1.txt").write_text("first half")
        if self.fail:
            raise RuntimeError("Flaky failed on purpose")
        (out / "part-2.txt").write_text("second half")


class Sleeper(RunTask):
    seconds = luigi.FloatParameter(default=120.0, description="how long to work")

    def produce(self, out: Path) -> None:
        (out / "started.txt").write_text("yes")
        time.sleep(self.seconds)
'''

PROBE_CONFIG = """
[RunConfig]
experiment_name = "titanic"
task = "{task}"
modules = ["probe_tasks"]

[Flaky]
fail = {fail}
"""


@pytest.fixture
def probe(project: Project) -> Project:
    project.add_module("probe_tasks", PROBE_TASKS)
    return project


def use_probe(project: Project, task: str, fail: bool = False) -> None:
    project.write_config(PROBE_CONFIG.format(task=task, fail=str(fail).lower()))


BAD_INPUTS = {
    "malformed TOML": (["--set", "Trainer.seed=1"], 'task = ["Evaluator"', "invalid TOML"),
    "unknown task": (["--task", "Trainr"], None, "did you mean 'Trainer'"),
    "unknown key": (["--set", "Trainer.sed=1"], None, "unknown key Trainer.sed"),
    "wrong type": (["--set", 'Trainer.seed="zero"'], None, "Trainer.seed"),
    "unknown section": (["--set", "Trainr.seed=1"], None, "unknown section [Trainr]"),
    "missing column": (["--set", 'Preprocessor.train_columns=["PassengerId","Survived","Cabn"]',
                        "--set", 'Preprocessor.test_columns=["PassengerId","Cabn"]'],
                       None, "Cabn"),
    "PathConfig points nowhere": (["--set", 'PathConfig.Trainer="./no/such/folder"'], None,
                                  "PathConfig.Trainer"),
    "missing input file": (["--set", 'PathConfig.input="./src"'], None, "has no such file"),
    "missing config file": (["--config", "nope.toml"], None, "nope.toml"),
    "bad estimator": (["--set", "Trainer.estimator=sklearn.ensemble.RandomForestClasifier"], None,
                      "RandomForestClasifier"),
    "too many folds": (["--set", "Evaluator.folds=500"], None, "folds"),
    "unserialisable value": (["--set", "Trainer.estimator_params={d=1979-05-27}"], None,
                             "Trainer.estimator_params"),
    "one folder pinned twice": (["--set", 'PathConfig.Trainer="./input"',
                                 "--set", 'PathConfig.Preprocessor="./input"'], None,
                                "same folder"),
    "misspelt run pin": (["--set", 'PathConfig.Trainr="runs:/0123/Trainer"'], None,
                         "did you mean 'Trainer'"),
    "run pin by a prefix": (["--set", 'PathConfig.Trainer="runs:/0123abcd"'], None,
                            "a pin needs the whole run id (32 characters)"),
    "no scheduler there": (["--scheduler-url", "http://127.0.0.1:9"], None, "no scheduler"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_no_run(project: Project, case: str):
    args, broken_line, expected = BAD_INPUTS[case]
    if broken_line:
        config = project.root / "luigi.toml"
        config.write_text(config.read_text().replace('task = ["Evaluator", "Prediction"]',
                                                     broken_line))
    result = project.run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in one_line_error(result)
    assert project.all_runs() == []


def test_a_misspelt_key_in_the_file_names_the_file(project: Project):
    config = project.root / "luigi.toml"
    text = config.read_text()
    assert "\nseed = 0\nautolog" in text
    config.write_text(text.replace("\nseed = 0\nautolog", "\nsead = 0\nautolog"))
    result = project.run()
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_line_error(result).startswith(
        f"error: {config.resolve()}: unknown key Trainer.sead (did you mean 'seed'?); "
        "Trainer takes: ")
    assert project.all_runs() == []


def test_another_luigi_config_parser_is_refused(project: Project):
    result = project.run(LUIGI_CONFIG_PARSER="cfg")
    assert result.returncode == 2
    assert "LUIGI_CONFIG_PARSER=cfg" in one_line_error(result)
    assert project.all_runs() == []


def test_a_pin_to_a_folder_of_someone_elses_files_is_refused(project: Project):
    folder = project.root / "my_notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = project.run("--set", 'PathConfig.Trainer="./my_notes"')
    assert result.returncode == 2
    assert "holds no complete Trainer output" in one_line_error(result)
    assert (folder / "notes.txt").read_text() == "mine"
    assert project.all_runs() == []


def test_a_failing_task_fails_the_run_leaves_nothing_complete_and_is_redone(probe: Project):
    use_probe(probe, "Flaky", fail=True)
    result = probe.run()
    assert result.returncode == 1, result.stderr
    assert "Flaky failed on purpose" in result.stdout
    (failed,) = probe.runs()
    assert failed.info.status == "FAILED"
    folder = probe.root / "mlruns" / failed.info.experiment_id / failed.info.run_id / "artifacts"
    flaky = folder / "Flaky"
    assert list(flaky.rglob("*")) == []  # no manifest, no half file, no staging folder

    use_probe(probe, "Flaky", fail=False)
    result = probe.run()
    assert result.returncode == 0, result.stderr
    assert task_lines(result.stdout)["Flaky"][-1].startswith("ran")
    assert probe.runs()[0].info.status == "FINISHED"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_is_killed_and_its_task_left_incomplete(probe: Project, signum):
    probe.cold = True  # signals go to a fresh interpreter, as a user's would
    use_probe(probe, "Sleeper")
    process = probe.start()
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "Sleeper" in line and "running" in line:
            break
        assert time.monotonic() < deadline, "the Sleeper task never started"
    time.sleep(0.5)
    process.send_signal(signum)
    assert process.wait(timeout=60) == 130
    (run,) = probe.runs()
    assert run.info.status == "KILLED"
    sleeper = (probe.root / "mlruns" / run.info.experiment_id / run.info.run_id / "artifacts"
               / "Sleeper")
    assert list(sleeper.rglob("*")) == []  # the half-done staging folder was removed


def test_a_run_whose_process_was_killed_hard_is_closed_by_the_next_run(probe: Project):
    probe.cold = True  # signals go to a fresh interpreter, as a user's would
    use_probe(probe, "Sleeper")
    process = probe.start()
    assert process.stdout is not None
    for line in process.stdout:
        if "Sleeper" in line and "running" in line:
            break
    process.kill()
    process.wait(timeout=30)
    (orphan,) = probe.runs()
    assert orphan.info.status == "RUNNING"
    use_probe(probe, "Flaky")
    assert probe.run().returncode == 0
    closed = {run.info.run_id: run for run in probe.runs()}[orphan.info.run_id]
    assert closed.info.status == "KILLED"


def test_two_workers_log_into_the_one_run(project: Project):
    result = project.run("--workers", "2")
    assert result.returncode == 0, result.stderr
    runs = project.all_runs()
    assert len(runs) == 1, "a worker process created a run of its own"
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert "cv_accuracy_mean" in run.data.metrics
