"""Adaptive search: an Optuna study whose trials are child runs, stored in ``mlruns/optuna.db``,
continued by the same command, extended by a larger ``trials``, shared by processes started
together, and never left with a trial RUNNING when its process was killed.

Every study here is the seed config's ridge classifier on 2 folds: a trial costs about a
second of work.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from pathlib import Path

import optuna
import pytest

from framework.search import study_checks
from support.project import SEED_CONFIG, Project, copy_project, one_line_error

CONFIG = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]') + """
[Evaluator]
folds = 2
"""
SPACE = ["--sweep", "method=tpe", "--sweep", "Trainer.estimator_params.alpha="
         "{loguniform=[0.01, 10.0]}"]
# The ridge classifier of test_sweep_resume.py: its full-data fit dawdles on demand.
FLAKY = '''
import os
import time

from sklearn.linear_model import RidgeClassifier


class Flaky(RidgeClassifier):
    def fit(self, X, y, sample_weight=None):
        if os.environ.get("FLAKY_FAIL") == repr(self.alpha):
            raise RuntimeError("flaky fit")
        if len(X) == 891:  # the Trainer's fit, not the cross-validation's
            time.sleep(float(os.environ.get("FLAKY_SLEEP", "0")))
        return super().fit(X, y, sample_weight)
'''


def count(project: Project, database: str, rows: str) -> int:
    try:
        with sqlite3.connect(project.root / "mlruns" / database) as connection:
            return int(connection.execute(f"select count(*) from {rows}").fetchone()[0])
    except sqlite3.Error:  # not there yet
        return 0


def trial_runs(project: Project) -> list:
    return [r for r in project.runs() if "trial.number" in r.data.tags]


def stored_trials(project: Project) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{project.root / 'mlruns' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage).get_trials()


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    project = copy_project(tmp_path_factory.mktemp("study") / "project", titanic_dir)
    project.write_config(CONFIG)
    result = project.run(*SPACE, "--sweep", "trials=3")
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result


def test_each_trial_is_a_child_run_of_the_study_run(studied):
    project, result = studied
    (parent,) = [r for r in project.runs() if "study.name" in r.data.tags]
    assert parent.info.status == "FINISHED"
    children = trial_runs(project)
    assert sorted(int(c.data.tags["trial.number"]) for c in children) == [0, 1, 2]
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["trial.state"] == "COMPLETE"
        assert child.info.status == "FINISHED"
        assert 0.01 <= float(child.data.params["Trainer.estimator_params.alpha"]) <= 10.0
        assert "output.Prediction" in child.data.tags  # a complete trial runs the rest too
    assert re.search(r"^3/3 trials, 0 pruned, best 0\.\d{4} \(trial \d\)$", result.stdout,
                     re.MULTILINE), result.stdout
    trials = stored_trials(project)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    by_run = {t.user_attrs["runner.run_id"]: t.value for t in trials}
    for child in children:
        assert by_run[child.info.run_id] == pytest.approx(child.data.metrics["cv_accuracy_mean"])


def test_the_study_run_holds_the_table_the_plots_and_the_best_trial(studied):
    project, result = studied
    (parent,) = [r for r in project.runs() if "study.name" in r.data.tags]
    folder = Path(parent.info.artifact_uri.removeprefix("file://"))
    assert (folder / "sweep.csv").read_text().startswith("trial,")
    assert (folder / "sweep.png").is_file()
    for plot in ("optimization_history", "parallel_coordinate", "slice", "param_importances"):
        assert (folder / "optuna" / f"{plot}.png").is_file(), plot
    scores = {r.info.run_id: r.data.metrics["cv_accuracy_mean"] for r in trial_runs(project)}
    best = parent.data.tags["sweep.best_run_id"]
    assert scores[best] == max(scores.values())  # ties: the earliest trial
    assert parent.data.metrics["best.cv_accuracy_mean"] == scores[best]
    assert f"best: run {best}" in result.stdout
    # The study records the metric its values are, for a later command to agree with.
    storage = f"sqlite:///{project.root / 'mlruns' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    assert summary.user_attrs[study_checks.METRIC_ATTR] == "cv_accuracy_mean"


def test_a_rerun_continues_the_study_and_more_trials_extend_it(studied):
    project, _ = studied
    again = project.run(*SPACE, "--sweep", "trials=3")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(trial_runs(project)) == 3  # nothing new ran
    assert "[trial" not in again.stdout
    more = project.run(*SPACE, "--sweep", "trials=4")
    assert more.returncode == 0, more.stdout + more.stderr
    assert sorted(int(c.data.tags["trial.number"]) for c in trial_runs(project)) == [0, 1, 2, 3]
    assert "4/4 trials" in more.stdout


def test_two_processes_share_one_study(project: Project):
    project.write_config(CONFIG)
    command = [*SPACE, "--sweep", "trials=4"]
    first, second = project.start(*command), project.start(*command)
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    numbers = [int(c.data.tags["trial.number"]) for c in trial_runs(project)]
    assert sorted(numbers) == [0, 1, 2, 3]  # the total is `trials`, no number twice
    assert [t.state.name for t in stored_trials(project)] == ["COMPLETE"] * 4


def test_a_killed_trial_is_failed_and_asked_again(project: Project):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    project.add_module("flaky", FLAKY)
    project.write_config(CONFIG.replace("[Trainer]\n", '[Trainer]\nestimator = "flaky.Flaky"\n'))
    command = [*SPACE, "--sweep", "trials=2"]
    runner = project.start(*command, FLAKY_SLEEP="120")
    deadline = time.monotonic() + 240
    # Plain sqlite reads: MLflow's or Optuna's client would race the runner creating tables.
    while count(project, "optuna.db", "trials where state = 'RUNNING'") < 1 or count(
            project, "mlflow.db", "runs where status = 'RUNNING'") < 2:  # the study's, the trial's
        assert runner.poll() is None and time.monotonic() < deadline, runner.communicate()
        time.sleep(0.5)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()
    assert [t.state.name for t in stored_trials(project)] == ["RUNNING"]
    rerun = project.run(*command)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "1 trial(s) whose process was gone marked failed" in rerun.stdout
    assert [t.state.name for t in stored_trials(project)] == ["FAIL", "COMPLETE", "COMPLETE"]
    killed = [r for r in trial_runs(project) if r.data.tags["trial.number"] == "0"]
    assert [r.info.status for r in killed] == ["KILLED"]


def test_a_failing_trial_is_recorded_and_the_study_goes_on(project: Project):
    project.add_module("flaky", FLAKY)
    project.write_config(CONFIG.replace("[Trainer]\n", '[Trainer]\nestimator = "flaky.Flaky"\n'))
    result = project.run("--sweep", "method=tpe", "--sweep", "trials=3", "--sweep",
                         "Trainer.estimator_params.alpha=[0.5, 2.0]", FLAKY_FAIL="2.0")
    assert result.returncode == 0, result.stdout + result.stderr
    states = {(float(r.data.params["Trainer.estimator_params.alpha"]), r.data.tags["trial.state"],
               r.info.status) for r in trial_runs(project)}
    assert (2.0, "FAIL", "FAILED") in states, states
    assert {s for s in states if s[0] == 0.5} <= {(0.5, "COMPLETE", "FINISHED")}
    assert len([t for t in stored_trials(project) if t.state.name == "FAIL"]) >= 1


@pytest.mark.parametrize(("args", "expected"), [
    (["--sweep", "method=tpe", "--sweep", "Trainer.estimator_params.alpha={loguniform=[0, 1]}"],
     "Trainer.estimator_params.alpha: loguniform needs 0 < low < high"),
    (["--sweep", "method=tpe", "--sweep", "Trainer.estimator_params.alpha={uniform=[-2, 1]}"],
     "search space check 1/2 (Trainer.estimator_params.alpha=-2.0)"),
    # uniform draws floats: an integer parameter refuses its ends before any trial
    (["--sweep", "method=tpe", "--sweep", "Trainer.seed={uniform=[0, 1]}"],
     "Trainer.seed = 0.0 has the wrong type: expected an integer"),
    (["--sweep", "metric=cv_acuracy_mean", "--sweep", "Trainer.seed=[0, 1]"],
     "metric = 'cv_acuracy_mean': no task of Evaluator + Prediction logs it (did you mean "
     "'cv_accuracy_mean'?)"),
])
def test_a_bad_study_or_sweep_exits_2_before_any_run_or_study(project: Project, args, expected):
    project.write_config(CONFIG)
    result = project.run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in one_line_error(result)
    assert project.all_runs() == []
    assert not (project.root / "mlruns" / "optuna.db").exists()


def test_a_named_study_made_otherwise_exits_2_before_any_run(project: Project):
    """A named study that exists must agree with the command before anything runs: one
    study's values are one metric's (told roc_auc after accuracy, its best would compare
    unlike numbers), and Optuna refuses a list where the study drew a range only once a trial
    is asked (a traceback, a FAILED run and a trial left RUNNING)."""
    project.write_config(CONFIG)
    storage = f"sqlite:///{project.root / 'mlruns' / 'optuna.db'}"
    earlier = optuna.create_study(study_name="mine", storage=storage, direction="maximize")
    earlier.set_user_attr(study_checks.METRIC_ATTR, "cv_accuracy_mean")
    earlier.enqueue_trial({"Trainer.estimator_params.alpha": 1.0})
    earlier.optimize(lambda t: t.suggest_float("Trainer.estimator_params.alpha", 0.01, 10.0,
                                               log=True), n_trials=1)
    named = ["--sweep", "method=tpe", "--sweep", "study=mine", "--sweep", "trials=2"]
    metric = project.run(*named, "--sweep", "Trainer.estimator_params.alpha={ loguniform = "
                         "[0.01, 10.0] }", "--sweep", "metric=cv_roc_auc_mean")
    assert metric.returncode == 2, metric.stdout + metric.stderr
    assert ("[Sweep] study = 'mine' exists and optimizes cv_accuracy_mean; metric = "
            "'cv_roc_auc_mean' needs another study name") in one_line_error(metric)
    kind = project.run(*named, "--sweep", "Trainer.estimator_params.alpha=[0.5, 2.0]")
    assert kind.returncode == 2, kind.stdout + kind.stderr
    assert ("[Sweep] study = 'mine' exists and Trainer.estimator_params.alpha was drawn from "
            "loguniform [0.01, 10.0], now from the list [0.5, 2.0]") in one_line_error(kind)
    assert project.all_runs() == []
    assert [t.state.name for t in optuna.load_study(study_name="mine", storage=storage
                                                    ).get_trials()] == ["COMPLETE"]


def test_a_timeout_caps_the_time_left_and_says_how_to_continue(project: Project):
    """With ``timeout``, no progress line promises more time than the timeout leaves, and the
    command says it stopped early (the table alone reads like a finished study)."""
    project.write_config(CONFIG)
    result = project.run(*SPACE, "--sweep", "trials=5", "--sweep", "timeout=1")
    assert result.returncode == 0, result.stdout + result.stderr
    for amount, unit in re.findall(r"~(\d+) (s|min) ", result.stdout):
        assert int(amount) * (60 if unit == "min" else 1) <= 1, result.stdout
    # A trial takes longer than the timeout: its line says the time is up (or, if it ended
    # just before the deadline, how little is left).
    assert re.search(r"~\d+ s to the timeout|timeout reached: no new trial starts",
                     result.stdout), result.stdout
    done = len(trial_runs(project))
    assert done < 5, result.stdout
    assert (f"timeout = 1 s: stopped asking at {done} of 5 trials; run the same command "
            "again to continue the study") in result.stdout


def test_register_after_gc_deleted_the_best_trial_says_so_instead_of_failing(project: Project):
    """A study outlives its runs: ``gc`` may delete the best trial's run, and the study still
    counts it. Registering it then is impossible, not a store failure with a FAILED run."""
    project.write_config(CONFIG)
    assert project.run(*SPACE, "--sweep", "trials=1").returncode == 0
    # A newer run that shares no output with the trial, so gc keeps nothing of the study.
    assert project.run("--set", "Preprocessor.scale_numeric=true").returncode == 0
    assert project.run("gc", "--keep-last", "1").returncode == 0
    (gone,) = [t.user_attrs["runner.run_id"] for t in stored_trials(project)]
    result = project.run(*SPACE, "--sweep", "trials=1", "--sweep", "register=m")
    assert result.returncode == 0, result.stdout + result.stderr
    assert gone not in result.stdout
    assert ("nothing registered: no configuration with cv_accuracy_mean has a run in this "
            "store") in result.stdout
    (parent,) = [r for r in project.runs() if "study.name" in r.data.tags]
    assert parent.info.status == "FINISHED"


def test_a_study_whose_trial_runs_were_deleted_names_only_runs_that_exist(project: Project):
    """gc (or the MLflow UI) deletes runs, never the study's trials: a rerun still counts
    them, shows them COLLECTED, never names one as the best, and says how to start afresh."""
    from mlflow.tracking import MlflowClient

    project.write_config(CONFIG)
    first = project.run(*SPACE, "--sweep", "trials=2")
    assert first.returncode == 0, first.stdout + first.stderr
    (parent,) = [r for r in project.runs() if "study.name" in r.data.tags]
    best = parent.data.tags["sweep.best_run_id"]
    client = MlflowClient(project.tracking_uri)
    client.delete_run(best)
    more = project.run(*SPACE, "--sweep", "trials=3")
    assert more.returncode == 0, more.stdout + more.stderr
    assert "3/3 trials" in more.stdout
    assert re.search(r"^ +\d +\S+ +COLLECTED +- ", more.stdout, re.MULTILINE), more.stdout
    alive = {r.info.run_id for r in trial_runs(project)}
    assert best not in alive
    named = re.search(r"^best: run (\w+) ", more.stdout, re.MULTILINE)
    assert named and named.group(1) in alive, more.stdout
    (latest, _) = sorted([r for r in project.runs() if "study.name" in r.data.tags],
                         key=lambda r: -r.info.start_time)
    assert latest.data.tags["sweep.best_run_id"] in alive
    assert re.search(r"1 trial\(s\) have no run in this tracking store .* To start the study "
                     r"afresh, delete it: optuna delete-study --storage sqlite:///\S+optuna\.db "
                     r"--study-name titanic-\w+$", more.stdout,
                     re.MULTILINE), more.stdout
    for run_id in alive:  # every trial's run gone: the study still stands, nothing failed
        client.delete_run(run_id)
    # ... and one added with Optuna alone (no run, no runner attributes) has its value.
    storage = f"sqlite:///{project.root / 'mlruns' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    key = "Trainer.estimator_params.alpha"
    optuna.load_study(study_name=summary.study_name, storage=storage).add_trial(
        optuna.trial.create_trial(params={key: 3.0}, value=0.97, distributions={
            key: optuna.distributions.FloatDistribution(0.01, 10.0, log=True)}))
    again = project.run(*SPACE, "--sweep", "trials=3")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[trial" not in again.stdout and "best: run" not in again.stdout
    assert re.search(r"^ +3 +3\.0+ +COMPLETE +- +0\.9700", again.stdout, re.MULTILINE), again.stdout
    assert "3 trial(s) have no run in this tracking store" in again.stdout
    assert "no configuration logged" not in again.stdout
    (newest, *_) = sorted([r for r in project.runs() if "study.name" in r.data.tags],
                          key=lambda r: -r.info.start_time)
    assert newest.info.status == "FINISHED"


def test_a_dry_run_plans_a_corner_of_the_space_and_says_it_is_not_a_trial(project: Project):
    project.write_config(CONFIG)
    result = project.run(*SPACE, "--sweep", "trials=3", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("the space's first corner (Trainer.estimator_params.alpha=0.01), planned as a "
            "trial would be (the sampler picks the real trials):") in result.stdout
    assert "(dry run, nothing was run or logged)" in result.stdout
    assert not (project.root / "mlruns" / "optuna.db").exists()
    assert project.runs() == []
