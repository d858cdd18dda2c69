"""How a run's metrics are shown at its end (framework/experiment/run_summary.py)."""

from __future__ import annotations

from framework.experiment.run_summary import shown_metrics


def test_a_mean_is_shown_with_its_std_and_the_headline_first():
    metrics = {"cv_accuracy_mean": 0.83951, "cv_accuracy_std": 0.021, "cv_f1_mean": 0.7,
               "cv_f1_std": 0.05, "count": 3.0}
    assert shown_metrics(metrics, "cv_f1_mean") == (
        "cv_f1 0.7000 ± 0.0500, count 3.0000, cv_accuracy 0.8395 ± 0.0210")


def test_a_std_without_its_mean_is_shown_as_it_is():
    assert shown_metrics({"loss_std": 0.5}) == "loss_std 0.5000"
