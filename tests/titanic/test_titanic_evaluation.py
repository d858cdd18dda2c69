"""Cross-validation results of the shipped configs, and the diagnostic plots."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from titanic.evaluation import (
    CVConfigError,
    CVResult,
    cross_validate_model,
    plot_confusion_matrix,
    plot_roc_curve,
)
from titanic.features import spec_from_columns
from titanic.model import feature_target, make_estimator, make_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRIC_KEYS = {
    f"cv_{metric}_{stat}" for metric in ("accuracy", "f1", "roc_auc") for stat in ("mean", "std")
}


@pytest.fixture(scope="module")
def train_xy(train_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return feature_target(train_frame)


@pytest.fixture(scope="module")
def default_cv(
    new_default_model: Callable[[], Pipeline], train_xy: tuple[pd.DataFrame, pd.Series]
) -> CVResult:
    return cross_validate_model(new_default_model(), *train_xy, folds=5, seed=0)


def test_default_config_reaches_080_cv_accuracy(default_cv: CVResult) -> None:
    assert set(default_cv.metrics) == METRIC_KEYS
    assert default_cv.metrics["cv_accuracy_mean"] >= 0.80
    assert default_cv.metrics["cv_roc_auc_mean"] >= 0.85
    assert all(isinstance(value, float) for value in default_cv.metrics.values())


def test_cv_reports_folds_and_out_of_fold_predictions(
    default_cv: CVResult, train_xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    _, y = train_xy
    assert len(default_cv.fold_metrics["accuracy"]) == len(default_cv.fit_seconds) == 5
    assert np.mean(default_cv.fold_metrics["f1"]) == default_cv.metrics["cv_f1_mean"]
    assert default_cv.oof_predictions.shape == default_cv.oof_scores.shape == (891,)
    assert set(np.unique(default_cv.oof_predictions)) == {0, 1}
    assert np.isfinite(default_cv.oof_scores).all()
    assert roc_auc_score(y, default_cv.oof_scores) >= 0.85, "scores rank survivors first"
    # Folds are (almost) equal-sized, so pooled OOF accuracy matches the mean fold accuracy.
    pooled = accuracy_score(y, default_cv.oof_predictions)
    assert pooled == pytest.approx(default_cv.metrics["cv_accuracy_mean"], abs=0.002)


def test_cv_is_reproducible_and_leaves_the_model_unfitted(
    new_default_model: Callable[[], Pipeline],
    train_xy: tuple[pd.DataFrame, pd.Series],
    default_cv: CVResult,
) -> None:
    model = new_default_model()
    again = cross_validate_model(model, *train_xy, folds=5, seed=0)
    assert again.metrics == default_cv.metrics
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_seed_ridge_config_runs(train_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    spec = spec_from_columns(
        ["PassengerId", "Survived", "Pclass", "SibSp", "Parch"],
        ["PassengerId", "Pclass", "SibSp", "Parch"],
    )
    model = make_model(spec, make_estimator("sklearn.linear_model.RidgeClassifier", {}, 0))
    result = cross_validate_model(model, *train_xy, folds=5, seed=0)
    assert 0.62 <= result.metrics["cv_accuracy_mean"] <= 0.75
    assert (result.oof_scores < 0).any(), "RidgeClassifier scores come from decision_function"


@pytest.mark.parametrize("folds", [1, 0, 2.5, 10_000])
def test_bad_fold_count_is_a_one_line_config_error(
    new_default_model: Callable[[], Pipeline],
    train_xy: tuple[pd.DataFrame, pd.Series],
    folds: int,
) -> None:
    with pytest.raises(CVConfigError) as error:
        cross_validate_model(new_default_model(), *train_xy, folds=folds, seed=0)
    assert isinstance(error.value, ValueError)
    assert "\n" not in str(error.value)


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = imread(path).shape
    assert height > 100 and width > 100


def test_plots_write_png_files(
    default_cv: CVResult, train_xy: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    _, y = train_xy
    confusion = tmp_path / "plots" / "confusion_matrix.png"  # parent created on demand
    roc = tmp_path / "roc_curve.png"
    plot_confusion_matrix(y, default_cv.oof_predictions, confusion)
    plot_roc_curve(y, default_cv.oof_scores, roc)
    assert_png(confusion)
    assert_png(roc)


def test_importing_evaluation_does_not_import_matplotlib() -> None:
    probe = "import sys, titanic.evaluation; print('matplotlib' in sys.modules)"
    src = Path(__file__).resolve().parents[2] / "src"
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src)},
    )
    assert completed.stdout.strip() == "False"
