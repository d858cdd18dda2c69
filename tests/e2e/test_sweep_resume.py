"""Sweeps that fail, resume, and runners that race for the same new output."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from support.project import SEED_CONFIG, Project

# A ridge classifier of the user's own whose fit fails or (on all of train.csv) dawdles on
# demand: environment variables, so its code, and therefore every signature, stays the same.
FLAKY = '''
import os
import time

from sklearn.linear_model import RidgeClassifier

TRAIN_ROWS = 891


class Flaky(RidgeClassifier):
    def fit(self, X, y, sample_weight=None):
        if os.environ.get("FLAKY_FAIL") == repr(self.alpha):
            raise RuntimeError("flaky fit")
        if len(X) == TRAIN_ROWS:  # the Trainer's fit, not the cross-validation's
            time.sleep(float(os.environ.get("FLAKY_SLEEP", "0")))
        return super().fit(X, y, sample_weight)
'''
CONFIG = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]').replace(
    "[Trainer]\n", '[Trainer]\nestimator = "flaky.Flaky"\n')
SWEEP = ["--sweep", "Trainer.estimator_params.alpha=[0.5, 2.0, 8.0]"]


def flaky_project(project: Project) -> Project:
    project.add_module("flaky", FLAKY)
    project.write_config(CONFIG)
    return project


def children_of(project: Project, parent_id: str) -> list:
    return [r for r in project.runs() if r.data.tags.get("mlflow.parentRunId") == parent_id]


def test_a_failing_configuration_fails_the_sweep_and_a_rerun_runs_only_it(project: Project):
    """Side by side (--workers 2) the other configurations finish; the rerun runs the one."""
    flaky_project(project)
    failed = project.run(*SWEEP, "--workers", "2", FLAKY_FAIL="2.0")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "configuration 2 (Trainer.estimator_params.alpha=2.0) FAILED" in failed.stdout
    (parent,) = [r for r in project.runs() if "sweep.size" in r.data.tags]
    assert parent.info.status == "FAILED"
    children = children_of(project, parent.info.run_id)
    statuses = {float(c.data.params["Trainer.estimator_params.alpha"]): c.info.status
                for c in children}
    assert statuses == {0.5: "FINISHED", 2.0: "FAILED", 8.0: "FINISHED"}  # 3 ran on after 2
    # Two forked workers, one Preprocessor: whoever came second waited for it and reused it.
    assert len([c for c in children if "output.Preprocessor" in c.data.tags]) == 1

    resumed = project.run(*SWEEP)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = next(r for r in project.runs() if "sweep.size" in r.data.tags)  # newest first
    assert second.info.run_id != parent.info.run_id and second.info.status == "FINISHED"
    (rerun,) = children_of(project, second.info.run_id)  # the two finished ones are reused
    assert rerun.data.params["Trainer.estimator_params.alpha"] == "2.0"
    assert "output.Trainer" in rerun.data.tags and "reused.Preprocessor" in rerun.data.tags
    assert resumed.stdout.count("REUSED") >= 2


def test_two_runners_needing_one_new_output_compute_it_once(project: Project):
    flaky_project(project)
    runners = [project.start(FLAKY_SLEEP="3") for _ in range(2)]
    outputs = [runner.communicate(timeout=240) for runner in runners]
    assert [r.returncode for r in runners] == [0, 0], outputs
    runs = project.runs()
    assert len(runs) == 2
    for task in ("Preprocessor", "Trainer", "Evaluator", "Prediction"):
        makers = [r for r in runs if f"output.{task}" in r.data.tags]
        assert len(makers) == 1, (task, outputs)
    assert sum("another runner is computing it" in out for out, _ in outputs) == 1, outputs


def test_a_killed_holder_leaves_no_stuck_claim(tmp_path: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from framework.execution import claims; "
         "assert claims.try_claim('d1'); print('held', flush=True); time.sleep(60)"],
        cwd=tmp_path, stdout=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    from framework.execution import claims
    probe = subprocess.run(
        [sys.executable, "-c",
         "from framework.execution import claims; print(claims.try_claim('d1'))"],
        cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert probe.stdout.strip() == "False", probe.stderr
    holder.kill()
    holder.wait()
    probe = subprocess.run(
        [sys.executable, "-c",
         "from framework.execution import claims; print(claims.try_claim('d1'))"],
        cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert probe.stdout.strip() == "True", probe.stderr
    assert claims.CLAIMS_DIR.name == "claims"


def test_an_interrupted_sweep_is_killed_and_keeps_its_finished_children(project: Project):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    flaky_project(project)
    runner = project.start(*SWEEP, FLAKY_SLEEP="2")
    assert runner.stdout is not None
    for line in runner.stdout:
        if line.startswith("  [1/3] FINISHED"):
            break
    deadline = time.monotonic() + 60
    while not [r for r in project.runs() if r.info.status == "RUNNING"
               and "mlflow.parentRunId" in r.data.tags]:  # the second one is under way
        assert time.monotonic() < deadline, "the second configuration never started"
        time.sleep(0.1)
    runner.send_signal(signal.SIGTERM)
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 130, err
    (parent,) = [r for r in project.runs() if "sweep.size" in r.data.tags]
    assert parent.info.status == "KILLED"
    statuses = sorted(c.info.status for c in children_of(project, parent.info.run_id))
    assert statuses == ["FINISHED", "KILLED"]  # the third never started
    assert "sweep.csv" in {f.name for f in Path(parent.info.artifact_uri).iterdir()}
