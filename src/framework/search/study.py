"""An adaptive search's study: how it samples and prunes, and its ask/tell (where it is
stored: ``framework.search.storage``).

Any number of processes, on any number of machines, started with the same command share one
study: before asking, a process counts the trials that are done or running and asks only while
that stays below ``trials``.

A trial counts unless its process died: a killed runner's trial is failed (``failed_stale``:
this machine's dead pids at once, other machines' once their heartbeat, a trial attribute every
process refreshes for its running trials in any storage (gRPC too), is older than the grace
period), is not counted, and its slot is asked again. A trial whose configuration failed
counts, so a study whose every trial fails still ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, cast

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, Trial, TrialState

from framework.config import sweep_spec as sweep
from framework.core.lifeline import process_alive
from framework.core.local_dirs import CLAIMS_DIR
from framework.search import space as study_space
from framework.search import study_checks
from framework.search.storage import open_storage

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

HEARTBEAT_SECONDS = 10  # a trial unseen for GRACE_SECONDS is stale (another machine died)
GRACE_SECONDS = 60
# Trial user attributes the runner writes (one home for their names).
HOST_ATTR, PID_ATTR = "runner.host", "runner.pid"
RUN_ATTR, STATUS_ATTR = "runner.run_id", "runner.status"
SECONDS_ATTR, ERROR_ATTR = "runner.seconds", "runner.error"  # METRICS_ATTR: in study_checks
HEARTBEAT_ATTR = "runner.heartbeat"  # time.time() of the last sign of life
SURPLUS_ATTR = "runner.surplus"  # asked past ``trials`` in a race between machines


def default_name(experiment: str, spec: sweep.SweepSpec, document: Mapping[str, Any]) -> str:
    """``<experiment>-<digest>``: the digest of the search space, the metric and its goal, and
    every other setting of the experiment (so a changed setting starts a new study; more
    ``trials``, another sampler or pruner continue the same one)."""
    fixed = {name: body for name, body in document.items()
             if name not in ("Sweep", "RunConfig", "core")}
    basis = {"space": {key: spec.raw[key] for key in spec.space}, "metric": spec.metric,
             "goal": spec.goal, "fixed": fixed}
    text = json.dumps(basis, sort_keys=True, default=str)
    return f"{experiment}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class SeededPerTrial(BaseSampler):
    """A sampler made afresh for each trial with ``seed + trial.number``.

    Samplers keep their random state in the process, so two processes with one seed propose
    the same configuration; seeded by trial number, a study draws the same way however many
    processes share it. TPE, CMA-ES and GP read their history from the storage each time.
    """

    def __init__(self, factory: Callable[[int], BaseSampler], seed: int) -> None:
        self._factory, self._seed = factory, seed
        self._inner = factory(seed)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Any) -> None:
        self._inner.after_trial(study, trial, state, values)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        import numpy as np

        # Mixed, not added: samplers seeded 0, 1, 2, ... draw alike at first.
        mixed = np.random.SeedSequence([self._seed, trial.number]).generate_state(1)[0]
        self._inner = self._factory(int(mixed))
        self._inner.before_trial(study, trial)

    def reseed_rng(self) -> None:
        """Seeded by trial number: nothing to reseed."""


def make_sampler(method: str, seed: int) -> BaseSampler:
    factories: dict[str, Callable[[int], BaseSampler]] = {
        "tpe": lambda s: optuna.samplers.TPESampler(seed=s),
        "cmaes": lambda s: optuna.samplers.CmaEsSampler(seed=s, warn_independent_sampling=False),
        "gp": lambda s: optuna.samplers.GPSampler(seed=s),
    }
    return SeededPerTrial(factories[method], seed)


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


def open_study(url: str, name: str, spec: sweep.SweepSpec
               ) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    """Create or continue the study (and its storage); ``UserError`` when it exists with
    the other goal or metric, or drew a key of the space another way."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=name,
                                sampler=make_sampler(spec.method, spec.seed),
                                pruner=make_pruner(spec.pruner),
                                direction=cast(Literal["minimize", "maximize"], spec.goal),
                                load_if_exists=True)
    study_checks.check_continues(study, spec)
    return study, storage


def counted(trial: FrozenTrial) -> bool:
    """True when the trial takes one of the study's ``trials`` (see the module docstring)."""
    if trial.state == TrialState.FAIL:
        return ERROR_ATTR in trial.user_attrs and SURPLUS_ATTR not in trial.user_attrs
    return True


def failed_stale(study: optuna.Study) -> int:
    """Fail the running trials whose process is gone: this machine's at once (their pid),
    other machines' once their heartbeat is older than ``GRACE_SECONDS``. How many."""
    here, now, failed = socket.gethostname(), time.time(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        pid = int(attrs.get(PID_ATTR, 0))
        if attrs.get(HOST_ATTR) == here and pid:
            stale = not process_alive(pid)
        else:
            started = trial.datetime_start.timestamp() if trial.datetime_start else now
            stale = now - float(attrs.get(HEARTBEAT_ATTR, started)) > GRACE_SECONDS
        if stale:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            failed += 1
    return failed


@contextmanager
def asking_alone(name: str) -> Iterator[None]:
    """One process of this machine counts and asks at a time, so two never both take the
    last slot (across machines the surplus check in ``StudySweeper.ask`` settles it)."""
    CLAIMS_DIR.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    descriptor = os.open(CLAIMS_DIR / f"study-{digest}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class Heartbeat:
    """Refreshes ``HEARTBEAT_ATTR`` every ``HEARTBEAT_SECONDS`` on the trials this process runs,
    so other machines can tell them from the trials of a machine that died."""

    def __init__(self, storage: optuna.storages.BaseStorage) -> None:
        self._storage = storage
        self.trial_ids: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, trial_id: int) -> None:
        self.trial_ids.add(trial_id)
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            for trial_id in list(self.trial_ids):
                try:
                    self._storage.set_trial_user_attr(trial_id, HEARTBEAT_ATTR, time.time())
                except Exception:  # finished meanwhile, or a busy store: beat again next time
                    continue

    def stop(self) -> None:
        self._stop.set()


def ask(study: optuna.Study, name: str, total: int,
        distributions: Mapping[str, Any]) -> Trial | None:
    """A new trial of the study while fewer than ``total`` count, else None."""
    with asking_alone(name):
        failed_stale(study)
        if sum(counted(t) for t in study.get_trials(deepcopy=False)) >= total:
            return None
        trial = study.ask(dict(distributions))
        trial.set_user_attr(HOST_ATTR, socket.gethostname())
        trial.set_user_attr(PID_ATTR, os.getpid())
        trial.set_user_attr(HEARTBEAT_ATTR, time.time())
    earlier = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
    if sum(counted(t) for t in earlier) >= total:  # another machine took the last slot
        trial.set_user_attr(SURPLUS_ATTR, True)
        study.tell(trial, state=TrialState.FAIL)
        return None
    return trial


def decode(spec: sweep.SweepSpec, trial: FrozenTrial | Trial) -> dict[str, Any]:
    return study_space.decode(spec.space, trial.params)
