"""Cross-validation of the full model and the diagnostic plots.

matplotlib is imported inside the plotting functions only: it is slow to import and most
callers (config validation, prediction) never plot.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # scikit-learn is imported on use: see titanic.features
    from sklearn.pipeline import Pipeline

METRICS: tuple[str, ...] = ("accuracy", "f1", "roc_auc")
MIN_FOLDS = 2


class CVConfigError(ValueError):
    """The cross-validation settings cannot work on the given data."""


@dataclass(frozen=True)
class CVResult:
    """Outcome of ``cross_validate_model``.

    ``metrics`` maps ``cv_<metric>_mean``/``cv_<metric>_std`` (population std over folds) to
    floats for accuracy, f1 and roc_auc. ``oof_predictions``/``oof_scores`` hold, for every
    training row in the order of ``y``, the prediction and positive-class score of the fold
    model that did not see it. ``fold_metrics`` has the per-fold values; ``fit_seconds`` the
    per-fold fit times (kept apart from ``metrics`` because timings are not reproducible).
    """

    metrics: dict[str, float]
    oof_predictions: np.ndarray
    oof_scores: np.ndarray
    fold_metrics: dict[str, list[float]] = field(default_factory=dict)
    fit_seconds: list[float] = field(default_factory=list)


def positive_scores(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Score of the positive class (``classes_[1]``): ``decision_function`` if the model has
    one (e.g. RidgeClassifier, which has no ``predict_proba``), else ``predict_proba[:, 1]``.

    Same preference order as sklearn's roc_auc scorer, so plots and metrics agree; the
    scores are therefore not always probabilities (GradientBoosting gives log-odds).
    """
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=float)


def check_cv_settings(y: pd.Series, folds: int, seed: int) -> None:
    """Raise ``CVConfigError`` unless ``folds`` and ``seed`` can split ``y`` stratified."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise CVConfigError(f"cv seed must be an integer in [0, 2**32), got {seed!r}: fix seed")
    smallest_class = int(y.value_counts().min()) if len(y) else 0
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < MIN_FOLDS:
        raise CVConfigError(f"cv folds must be an integer >= {MIN_FOLDS}, got {folds!r}: fix folds")
    if folds > smallest_class:
        raise CVConfigError(
            f"cv folds={folds} exceeds the {smallest_class} rows of the rarest class: "
            f"set folds <= {smallest_class}"
        )


def cross_validate_model(
    model: Pipeline, X: pd.DataFrame, y: pd.Series, folds: int, seed: int
) -> CVResult:
    """Stratified, shuffled ``folds``-fold CV of the unfitted ``model`` on (X, y).

    Fits ``folds`` clones of ``model`` (never ``model`` itself), sequentially (n_jobs=1).
    Raises ``CVConfigError`` when ``folds`` is below 2 or above the rarest class's size.
    """
    from sklearn.model_selection import StratifiedKFold, cross_validate

    check_cv_settings(y, folds, seed)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # return_estimator + return_indices lets the out-of-fold predictions come from the very
    # fold models that were scored, instead of refitting everything in cross_val_predict.
    outcome = cross_validate(
        model,
        X,
        y,
        cv=splitter,
        scoring=list(METRICS),
        n_jobs=1,
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    oof_predictions = np.empty(len(y), dtype=np.asarray(y).dtype)
    oof_scores = np.empty(len(y), dtype=float)
    for fold_model, rows in zip(outcome["estimator"], outcome["indices"]["test"], strict=True):
        held_out = X.iloc[rows]
        oof_predictions[rows] = fold_model.predict(held_out)
        oof_scores[rows] = positive_scores(fold_model, held_out)
    fold_metrics = {name: [float(v) for v in outcome[f"test_{name}"]] for name in METRICS}
    metrics: dict[str, float] = {}
    for name, values in fold_metrics.items():
        metrics[f"cv_{name}_mean"] = float(np.mean(values))
        metrics[f"cv_{name}_std"] = float(np.std(values))
    return CVResult(
        metrics=metrics,
        oof_predictions=oof_predictions,
        oof_scores=oof_scores,
        fold_metrics=fold_metrics,
        fit_seconds=[float(seconds) for seconds in outcome["fit_time"]],
    )


def _new_figure(size: tuple[float, float]) -> Any:
    """A Figure bound to the Agg canvas, bypassing pyplot's global state (thread/fork safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save_png(figure: Any, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)


def plot_confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, path: Path) -> None:
    """Write the confusion matrix of ``y_pred`` against ``y_true`` as a PNG to ``path``."""
    from sklearn.metrics import ConfusionMatrixDisplay

    figure = _new_figure((4.5, 4))
    axes = figure.add_subplot()
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, display_labels=["died (0)", "survived (1)"], ax=axes, colorbar=False
    )
    axes.set_title("Out-of-fold confusion matrix")
    _save_png(figure, path)


def plot_roc_curve(y_true: ArrayLike, scores: ArrayLike, path: Path) -> None:
    """Write the ROC curve (with its AUC) of ``scores`` against ``y_true`` as a PNG."""
    from sklearn.metrics import RocCurveDisplay

    figure = _new_figure((4.5, 4))
    axes = figure.add_subplot()
    RocCurveDisplay.from_predictions(y_true, scores, ax=axes, plot_chance_level=True)
    axes.set_title("Out-of-fold ROC curve")
    _save_png(figure, path)
