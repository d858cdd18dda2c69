"""Which trial of an adaptive search a run evaluates (set by the search, read by tasks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrialRef:
    """The adaptive-search trial a run evaluates: where its study is stored and which trial.

    ``storage`` is the study storage's address as the runner opens it (e.g.
    ``sqlite:////abs/mlruns/optuna.db`` or ``grpc://host:port``).
    """

    storage: str
    study: str
    trial_id: int
    number: int
