"""Pruning between cross-validation folds: ``RunTask.report_progress`` and
``framework.search.pruning`` against a real Optuna study in sqlite, and a real study run whose
trial the median pruner stops after its first fold.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from framework.core.errors import TrialPruned
from framework.search import pruning, study_checks
from framework.search.storage import STORAGE_FILE
from framework.search.trial import TrialRef
from framework.task.context import RunContext, activate
from framework.task.run_task import RunTask
from support.project import REPO, SEED_CONFIG, Project, copy_project
from tasks.evaluator import FOLD_METRIC_PREFIX


class PruningProbe(RunTask):
    """A task that only reports progress (never run by Luigi here)."""

    def produce(self, out: Path) -> None:
        raise AssertionError("not run")


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


@pytest.fixture
def trial(tmp_path: Path) -> Iterator[TrialRef]:
    """A RUNNING trial of a fresh study in ``tmp_path/optuna.db``, active in this process."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    asked = optuna.create_study(study_name="probe", storage=url, direction="maximize").ask()
    ref = TrialRef(url, "probe", asked._trial_id, asked.number)
    activate(RunContext(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path, trial=ref))
    pruning.reset()
    yield ref
    pruning.use_pruner(optuna.pruners.NopPruner())
    pruning.reset()


def intermediate_values(ref: TrialRef) -> dict[int, float]:
    found = optuna.load_study(study_name=ref.study, storage=ref.storage)
    return dict(found.get_trials()[ref.number].intermediate_values)


def test_outside_a_trial_progress_is_not_reported_and_optuna_not_imported(tmp_path: Path):
    script = f"""
import sys
sys.path.insert(0, {str(REPO / 'src')!r})
from pathlib import Path
from framework.search import pruning
from framework.task.context import RunContext, activate
from framework.task.run_task import RunTask
class Probe(RunTask):
    def produce(self, out): pass
activate(RunContext("sqlite:///unused.db", Path(".")))
assert Probe(run_id="r").report_progress(1, 0.5) is None
assert not pruning.was_pruned()
assert "optuna" not in sys.modules, "optuna imported outside a trial"
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_a_trial_whose_pruner_says_stop_is_pruned_and_remembered(trial: TrialRef):
    pruning.use_pruner(AlwaysPrune())
    with pytest.raises(TrialPruned, match=f"trial {trial.number} pruned at step 1"):
        PruningProbe(run_id="r").report_progress(1, 0.75)
    assert pruning.was_pruned()
    assert intermediate_values(trial) == {1: 0.75}
    pruning.reset()
    assert not pruning.was_pruned()


def test_a_trial_the_pruner_keeps_reports_every_step(trial: TrialRef):
    pruning.use_pruner(optuna.pruners.NopPruner())
    task = PruningProbe(run_id="r")
    for step, value in enumerate((0.5, 0.6, 0.7), start=1):
        task.report_progress(step, value)
    assert intermediate_values(trial) == {1: 0.5, 2: 0.6, 3: 0.7}
    assert not pruning.was_pruned()


def _report_in_child() -> None:
    try:
        PruningProbe(run_id="r").report_progress(1, 0.25)
    except TrialPruned:
        sys.exit(3)


def test_a_trial_pruned_in_a_forked_worker_is_seen_by_the_runner(trial: TrialRef):
    """Luigi runs tasks in forked workers with ``--workers N``."""
    pruning.use_pruner(AlwaysPrune())
    child = multiprocessing.get_context("fork").Process(target=_report_in_child)
    child.start()
    child.join(60)
    assert child.exitcode == 3
    assert pruning.was_pruned()


# A study the median pruner judges at once: five finished trials whose first fold scored 0.99.
CONFIG = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]') + """
[Evaluator]
folds = 3
"""
KEY = "Trainer.estimator_params.alpha"
STUDY = "pruned-study"


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path
           ) -> tuple[Project, subprocess.CompletedProcess[str], optuna.Study]:
    project = copy_project(tmp_path_factory.mktemp("pruning") / "project", titanic_dir)
    project.write_config(CONFIG)
    (project.root / "mlruns").mkdir(exist_ok=True)
    storage = f"sqlite:///{project.root / 'mlruns' / STORAGE_FILE}"
    seeded = optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")
    alpha = optuna.distributions.FloatDistribution(0.01, 10.0, log=True)
    for value in (0.02, 0.05, 0.1, 0.5, 1.0):
        seeded.add_trial(optuna.trial.create_trial(
            params={KEY: value}, distributions={KEY: alpha}, value=0.5,
            intermediate_values={1: 0.99, 2: 0.99, 3: 0.99},
            user_attrs={study_checks.METRICS_ATTR: {"cv_accuracy_mean": 0.5}}))
    result = project.run("--sweep", "method=tpe", "--sweep", f"{KEY}={{loguniform=[0.01, 10.0]}}",
                         "--sweep", "trials=6", "--sweep", "pruner=median",
                         "--sweep", f"study={STUDY}")
    return project, result, optuna.load_study(study_name=STUDY, storage=storage)


def test_the_pruned_trial_is_recorded_as_pruned_not_failed(pruned):
    project, result, found = pruned
    assert result.returncode == 0, result.stdout + result.stderr
    assert found.get_trials()[5].state == optuna.trial.TrialState.PRUNED
    (run,) = [r for r in project.runs() if r.data.tags.get("trial.number") == "5"]
    assert run.info.status == "FINISHED"
    assert run.data.tags["trial.state"] == "PRUNED"
    assert "[trial 5] PRUNED" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "FAILED" not in result.stdout


def test_the_pruned_trial_logs_the_fold_it_completed_and_nothing_complete(pruned):
    project, _, found = pruned
    (run,) = [r for r in project.runs() if r.data.tags.get("trial.number") == "5"]
    client = MlflowClient(project.tracking_uri)
    history = client.get_metric_history(run.info.run_id, f"{FOLD_METRIC_PREFIX}accuracy")
    assert [m.step for m in history] == [1]
    assert found.get_trials()[5].intermediate_values == {1: history[0].value}
    assert "cv_accuracy_mean" not in run.data.metrics
    evaluator = Path(run.data.tags["output.Evaluator"])
    assert not evaluator.exists() or list(evaluator.iterdir()) == []
    # Cross-validation first: the final model is never fitted for a pruned trial.
    trainer = Path(run.data.tags["output.Trainer"])
    assert not (trainer / "_manifest.json").exists()
