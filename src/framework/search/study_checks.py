"""What a study that exists already must agree with before a command continues it: its goal,
the metric its values are and how each key of the space is drawn. Optuna checks none of these
up front (another kind of key fails only once a trial is asked: a traceback and a trial left
RUNNING), and a study of mixed metrics compares unlike numbers, so each is one line here,
before any run."""

from __future__ import annotations

import math

import optuna
from optuna.trial import TrialState

from framework.config import sweep_spec as sweep
from framework.core.errors import UserError
from framework.search import space as study_space

# Trial user attribute: the metrics of the trial's run (written by the study's tell).
METRICS_ATTR = "runner.metrics"
# Study user attribute: the metric the study's values are, recorded when first opened.
METRIC_ATTR = "runner.metric"


def check_continues(study: optuna.Study, spec: sweep.SweepSpec) -> None:
    """``UserError`` when ``study`` was made with another goal or metric, or drew a key of
    ``spec``'s space another way (other bounds of the same kind are fine)."""
    name = study.study_name
    if study.direction.name.lower() != spec.goal:
        raise UserError(f"[Sweep] study = {name!r} exists and {study.direction.name.lower()}s; "
                        f"goal = {spec.goal!r} needs another study name")
    if (other := optimized_metric(study, spec.metric or "")) is not None:
        raise UserError(f"[Sweep] study = {name!r} exists and optimizes {other}; "
                        f"metric = {spec.metric!r} needs another study name")
    if changed := study_space.changed_kind(study, study_space.distributions(spec.space)):
        raise UserError(f"[Sweep] study = {name!r} exists and {changed}; sweep it as before, "
                        "or name another study")


def optimized_metric(study: optuna.Study, metric: str) -> str | None:
    """The metric ``study``'s values are, when not ``metric`` (else None). Recorded on the
    study (``METRIC_ATTR``) the first time it is opened with none known."""
    told = study.user_attrs.get(METRIC_ATTR)
    if told is None:
        told = told_metric(study, metric)
        if told is None:
            study.set_user_attr(METRIC_ATTR, metric)
    return None if told in (None, metric) else str(told)


def told_metric(study: optuna.Study, metric: str) -> str | None:
    """For a study from before ``METRIC_ATTR``: the metric its first complete trial with its
    run's metrics was told (``metric`` when that one's value matches too); None when none was.
    The storage is anyone's to write: a trial whose attribute tells nothing is skipped."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        metrics = trial.user_attrs.get(METRICS_ATTR)
        if not isinstance(metrics, dict) or not isinstance(trial.value, float):
            continue
        matching = [key for key, value in metrics.items() if isinstance(value, int | float)
                    and math.isclose(value, trial.value, rel_tol=1e-12)]
        if matching:  # the value is one of its run's metrics
            return metric if metric in matching else matching[0]
    return None
