"""What a study that exists must agree with (``search/study_checks.py``), on real in-memory
Optuna studies: the metric its values are, recorded on the study, or guessed from the runs'
metrics its trials keep for a study from before that record."""

from __future__ import annotations

import optuna
from optuna.trial import create_trial

from framework.search.study_checks import METRIC_ATTR, METRICS_ATTR, optimized_metric


def study_with(*trials: optuna.trial.FrozenTrial) -> optuna.Study:
    found = optuna.create_study(direction="maximize")
    for trial in trials:
        found.add_trial(trial)
    return found


def told(value: float, metrics: object) -> optuna.trial.FrozenTrial:
    return create_trial(value=value, user_attrs={METRICS_ATTR: metrics})


def test_a_new_study_records_its_metric_and_refuses_another_later():
    found = study_with()
    assert optimized_metric(found, "cv_accuracy_mean") is None
    assert found.user_attrs[METRIC_ATTR] == "cv_accuracy_mean"
    assert optimized_metric(found, "cv_accuracy_mean") is None
    assert optimized_metric(found, "cv_roc_auc_mean") == "cv_accuracy_mean"


def test_an_older_study_is_read_from_what_its_first_trial_was_told():
    metrics = {"cv_accuracy_mean": 0.8, "cv_f1_mean": 0.7, "cv_roc_auc_mean": 0.86}
    older = study_with(told(0.86, metrics))
    assert optimized_metric(older, "cv_accuracy_mean") == "cv_roc_auc_mean"
    assert optimized_metric(older, "cv_roc_auc_mean") is None
    # Two metrics equal on that trial: the one asked for is taken.
    tied = study_with(told(0.8, {"cv_accuracy_mean": 0.8, "cv_f1_mean": 0.8}))
    assert optimized_metric(tied, "cv_f1_mean") is None


def test_malformed_trial_attributes_are_skipped_not_trusted():
    # The storage is anyone's to write: a list, text values, then a usable trial.
    found = study_with(told(0.5, ["cv_accuracy_mean"]), told(0.5, {"cv_accuracy_mean": "0.5"}),
                       told(0.7, {"cv_f1_mean": 0.7}))
    assert optimized_metric(found, "cv_accuracy_mean") == "cv_f1_mean"
    assert optimized_metric(study_with(told(0.5, ["x"])), "cv_accuracy_mean") is None
