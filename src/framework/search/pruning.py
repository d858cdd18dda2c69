"""Pruning an adaptive-search trial between steps of a task (e.g. cross-validation folds).

A task reports its progress with ``RunTask.report_progress``; inside a trial (``RunContext.trial``)
the value goes to the Optuna trial in the study storage, and when the study's pruner says the
trial should stop, this module records it and the task raises ``TrialPruned``.

The record outlives the task's process: Luigi may run the task in a worker forked from the
runner, so the fact is a marker file whose name the runner chose (``reset``) and its forks
inherit. The search side reads ``was_pruned()`` once the DAG has run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from framework.core.errors import TrialPruned

if TYPE_CHECKING:
    from optuna.pruners import BasePruner
    from optuna.trial import Trial

    from framework.search.trial import TrialRef


def _new_marker() -> Path:
    return Path(tempfile.gettempdir()) / f"runner-pruned-{os.getpid()}-{uuid.uuid4().hex}"


# The marker file and the process that chose it (and removes it at exit; forks never do).
_marker, _marker_owner = _new_marker(), os.getpid()
# Opened trials, by (pid, storage, trial id): a fork opens its own connections.
_trials: dict[tuple[int, str, int], Trial] = {}
_pruner: BasePruner | None = None


def _forget_marker() -> None:
    if _marker_owner == os.getpid():
        _marker.unlink(missing_ok=True)


atexit.register(_forget_marker)


def reset() -> None:
    """Forget any earlier pruning: call before the DAG of the next trial runs."""
    global _marker, _marker_owner
    _forget_marker()
    _marker, _marker_owner = _new_marker(), os.getpid()


def was_pruned() -> bool:
    """True when a task of this process or of its forked workers was pruned since ``reset``."""
    return _marker.exists()


def _record() -> None:
    _marker.touch()


def use_pruner(pruner: BasePruner) -> None:
    """Decide with ``pruner`` in this process and its forks. Optuna stores no pruner with a
    study: whoever runs its trials brings the configured one (the search side, before the
    first trial). Without it, progress is reported but no trial is ever pruned."""
    global _pruner
    _pruner = pruner


def _trial(ref: TrialRef) -> Trial:
    key = (os.getpid(), ref.storage, ref.trial_id)
    if key not in _trials:
        import optuna

        from framework.search.storage import open_storage

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name=ref.study, storage=open_storage(ref.storage),
                                  pruner=_pruner or optuna.pruners.NopPruner())
        _trials[key] = optuna.trial.Trial(study, ref.trial_id)
    return _trials[key]


def report(ref: TrialRef, step: int, value: float) -> None:
    """Report ``value`` at ``step`` to trial ``ref``; raise ``TrialPruned`` (after recording
    it) when the study's pruner stops the trial there."""
    trial = _trial(ref)
    trial.report(value, step)
    if trial.should_prune():
        _record()
        raise TrialPruned(f"trial {ref.number} pruned at step {step} (value {value:.6g})")


with contextlib.suppress(AttributeError):  # no fork on some platforms
    # A forked worker inherits the opened trials, whose connections it must not share.
    os.register_at_fork(after_in_child=_trials.clear)
