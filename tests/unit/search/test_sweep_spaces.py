"""Sweep and study spaces as pure logic: the ``[Sweep]`` checks, counting before expanding,
and the Optuna distributions a study asks with."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.errors import UserError
from framework.search import space as study_space
from framework.search import storage, study
from framework.task.registry import load_tasks


@pytest.fixture(scope="module")
def registry():
    return load_tasks(())


def spec_of(registry, table=None, flags=()):
    return sweep.read_spec(table or {}, list(flags), registry)


@pytest.mark.parametrize(("flags", "expected"), [
    (["method=tpe", "Trainer.estimator_params.alpha={uniform=[1, 0.1]}"],
     "Trainer.estimator_params.alpha"),
    (["method=tpe", "Trainer.estimator_params.alpha={loguniform=[0, 1]}"],
     "loguniform needs 0 < low < high"),
    (["method=bayes", "Trainer.seed=[0, 1]"], "[Sweep] method = 'bayes'"),
    (["method=tpe", "pruner=asha", "Trainer.seed=[0, 1]"], "[Sweep] pruner = 'asha'"),
    (["method=tpe", "trials=0", "Trainer.seed=[0, 1]"], "[Sweep] trials = 0"),
    (["method=tpe", "Trainer.seed=[]"], "Trainer.seed = []"),
    (["method=tpe", "Trainer.sed={randint=[0, 3]}"], "unknown key Trainer.sed"),
    (["method=tpe", "timeout=-1", "Trainer.seed=[0, 1]"], "[Sweep] timeout = -1"),
    (["method=tpe", "samples=3", "Trainer.seed=[0, 1]"], "[Sweep] samples"),
    (["method=grid", "trials=3", "Trainer.seed=[0, 1]"], "[Sweep] trials"),
    (["Trainer.seed={randint=[0, 3]}"], "Trainer.seed"),  # a grid takes lists only
])
def test_bad_spaces_name_the_key(registry, flags, expected):
    with pytest.raises(UserError) as raised:
        spec_of(registry, flags=[*flags])
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_grid_is_counted_not_expanded(registry):
    values = list(range(1000))
    flags = [f"Trainer.seed={values}", f"Evaluator.seed={values}"]
    with pytest.raises(UserError) as raised:
        spec_of(registry, flags=flags)
    assert "1,000,000 configurations" in str(raised.value)
    assert "max_configurations=1000000" in str(raised.value)
    spec = spec_of(registry, flags=[*flags, "max_configurations=1000000"])
    assert sweep.count(spec) == 1_000_000
    assert next(sweep_points.points(spec)) == {"Trainer.seed": 0, "Evaluator.seed": 0}


def test_random_samples_are_counted_and_bounded_by_a_list_grid(registry):
    with pytest.raises(UserError, match="1,000,000,000 configurations"):
        spec_of(registry, flags=["method=random", "samples=1000000000",
                                 "Trainer.estimator_params.alpha={uniform=[0, 1]}"])
    lists = spec_of(registry, flags=["method=random", "samples=50", "Trainer.seed=[0, 1, 2]"])
    assert sweep.count(lists) == 3
    assert sorted(p["Trainer.seed"] for p in sweep_points.points(lists)) == [0, 1, 2]


def test_a_study_takes_the_random_sweeps_distributions(registry):
    spec = spec_of(registry, flags=[
        "method=tpe", "trials=5", "pruner=hyperband",
        "Trainer.estimator_params.max_depth={randint=[2, 8]}",
        "Trainer.estimator_params.learning_rate={loguniform=[0.005, 0.3]}",
        "Trainer.estimator_params.subsample={uniform=[0.5, 1.0]}",
        'Preprocessor.train_columns=[["Pclass"], ["Pclass", "Sex"]]'])
    assert spec.adaptive and spec.trials == 5 and spec.pruner == "hyperband"
    found = study_space.distributions(spec.space)
    assert found["Trainer.estimator_params.max_depth"] == IntDistribution(2, 7)  # scipy's 8 out
    assert found["Trainer.estimator_params.learning_rate"] == FloatDistribution(0.005, 0.3,
                                                                                log=True)
    assert found["Trainer.estimator_params.subsample"] == FloatDistribution(0.5, 1.0)
    choices = found["Preprocessor.train_columns"]
    assert isinstance(choices, CategoricalDistribution)
    assert study_space.decode(spec.space, {"Preprocessor.train_columns": choices.choices[1]}) \
        == {"Preprocessor.train_columns": ["Pclass", "Sex"]}


def test_corners_cover_every_choice_and_both_ends():
    space = {"a": {"randint": [2, 8]}, "b": [1, 2, 3], "c": {"uniform": [0.5, 1.0]}}
    corners = list(study_space.corners(space))
    assert corners[0] == {"a": 2, "b": 1, "c": 0.5}
    assert {c["a"] for c in corners} == {2, 7}
    assert {c["b"] for c in corners} == {1, 2, 3}
    assert {c["c"] for c in corners} == {0.5, 1.0}
    assert len(corners) == 1 + 1 + 2 + 1


def test_the_ends_of_a_float_range_are_checked_as_the_floats_the_study_draws():
    assert study_space.candidates({"uniform": [0, 1]}) == [0.0, 1.0]
    assert all(type(v) is float for v in study_space.candidates({"loguniform": [1, 10]}))
    assert study_space.candidates({"randint": [2, 8]}) == [2, 7]  # ints stay ints


def test_the_default_study_name_follows_the_space_not_the_trial_count(registry):
    base = ["method=tpe", "Trainer.seed={randint=[0, 9]}"]
    document = {"Trainer": {"estimator": "x"}}
    name = study.default_name("titanic", spec_of(registry, flags=[*base, "trials=5"]), document)
    assert name == study.default_name("titanic", spec_of(registry, flags=[*base, "trials=50"]),
                                      document)
    assert name.startswith("titanic-")
    other_space = spec_of(registry, flags=["method=tpe", "Trainer.seed={randint=[0, 8]}"])
    assert study.default_name("titanic", other_space, document) != name
    assert study.default_name("titanic", spec_of(registry, flags=base),
                              {"Trainer": {"estimator": "y"}}) != name


def test_the_study_is_stored_beside_a_sqlite_tracking_store(tmp_path, monkeypatch):
    monkeypatch.delenv(storage.STORAGE_VARIABLE, raising=False)
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert storage.storage_url(uri, tmp_path) == f"sqlite:///{tmp_path}/mlruns/optuna.db"
    monkeypatch.setenv(storage.STORAGE_VARIABLE, "postgresql://u:secret@db/optuna")
    assert storage.storage_url(uri, tmp_path) == "postgresql://u:secret@db/optuna"
    assert "secret" not in storage.shown("postgresql://u:secret@db/optuna")


def test_a_sampler_seeded_per_trial_draws_alike_in_any_process():
    """Two processes sharing a study ask alternately; seeded by trial number, the numbers
    they get are sampled as one process would sample them, so they never duplicate."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {"x": FloatDistribution(0.0, 1.0)}
    alone = optuna.create_study(sampler=study.make_sampler("tpe", 3))
    drawn = [alone.ask(space).params["x"] for _ in range(4)]
    again = optuna.create_study(sampler=study.make_sampler("tpe", 3))
    assert [again.ask(space).params["x"] for _ in range(4)] == drawn
    assert len(set(drawn)) == 4 and not any(math.isnan(x) for x in drawn)


def test_a_running_trial_is_failed_only_when_its_process_is_gone(tmp_path):
    """This machine's trials by their pid; another machine's by their heartbeat's age."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import optuna

    found = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    attrs = [{study.HOST_ATTR: socket.gethostname(), study.PID_ATTR: int(gone)},
             {study.HOST_ATTR: socket.gethostname(), study.PID_ATTR: os.getpid()},
             {study.HOST_ATTR: "elsewhere", study.PID_ATTR: 1,
              study.HEARTBEAT_ATTR: time.time() - study.GRACE_SECONDS - 5},
             {study.HOST_ATTR: "elsewhere", study.PID_ATTR: 1, study.HEARTBEAT_ATTR: time.time()}]
    for values in attrs:
        trial = found.ask()
        for key, value in values.items():
            trial.set_user_attr(key, value)
    assert study.failed_stale(found) == 2
    assert [t.state.name for t in found.get_trials()] == ["FAIL", "RUNNING", "FAIL", "RUNNING"]
    assert not any(study.counted(t) for t in found.get_trials() if t.state.name == "FAIL")


def test_a_study_asks_until_trials_count_and_not_after_its_timeout(registry, tmp_path,
                                                                     monkeypatch):
    import optuna

    from framework.experiment.study_run import StudySweeper

    monkeypatch.chdir(tmp_path)  # the ask lock lives in mlruns/claims
    spec = spec_of(registry, flags=["method=tpe", "trials=2", "Trainer.seed={randint=[0, 9]}"])
    found = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    sweeper = StudySweeper(found, found._storage, spec, "sqlite:///x")
    first, second = sweeper.ask(), sweeper.ask()
    assert first is not None and second is not None
    assert sweeper.ask() is None  # two asked (running) already count
    assert [first.trial.number, second.trial.number] == [0, 1]
    sweeper.heartbeat.stop()
    fresh = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    timed = StudySweeper(fresh, fresh._storage, replace(spec, timeout=0.5), "sqlite:///x")
    assert timed.ask() is not None
    time.sleep(0.6)
    assert timed.ask() is None  # one trial of two, but the time is up
    timed.heartbeat.stop()
