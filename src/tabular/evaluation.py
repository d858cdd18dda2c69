"""Cross-validation of the full model, with metrics that follow the problem.

- binary: accuracy, F1 of the positive class (the larger label), ROC AUC;
- multiclass: accuracy, macro F1, one-vs-rest ROC AUC (when the model has ``predict_proba``);
- regression: RMSE, MAE, R2, on shuffled (not stratified) folds.
Each metric is reported as ``cv_<name>_mean`` and ``cv_<name>_std`` (population std over folds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabular.contract import Problem

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

Scorer = Callable[[Any, pd.DataFrame, pd.Series], float]
METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "f1", "roc_auc"),
    "multiclass": ("accuracy", "f1_macro", "roc_auc_ovr"),
    "regression": ("rmse", "mae", "r2"),
}
# What "better" means for each metric (sweeps and comparisons read this).
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


def first_metric(problem: Problem) -> str:
    """The headline metric of ``problem``, e.g. ``cv_accuracy_mean``."""
    return f"cv_{METRIC_NAMES[problem][0]}_mean"


@dataclass(frozen=True)
class CVResult:
    """``metrics``: ``cv_<name>_mean/_std``; ``oof_predictions``/``oof_scores``: for every
    training row (in the order of ``y``), the prediction and score of the fold model that did
    not see it (scores: positive-class score for binary, else None)."""

    metrics: dict[str, float]
    oof_predictions: np.ndarray
    oof_scores: np.ndarray | None


def positive_scores(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Score of ``classes_[1]``: ``decision_function`` when the model has one, else
    ``predict_proba`` (sklearn's own roc_auc preference)."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=float)


def scorers(problem: Problem, model: Any) -> dict[str, Scorer]:
    """Scorer callables ``(fitted model, X, y) -> float`` for ``problem``'s metrics.

    Explicit positive labels, so string and boolean targets score like 0/1 ones.
    """
    from sklearn import metrics as m

    if problem == "regression":
        return {"rmse": lambda est, X, y: float(m.root_mean_squared_error(y, est.predict(X))),
                "mae": lambda est, X, y: float(m.mean_absolute_error(y, est.predict(X))),
                "r2": lambda est, X, y: float(m.r2_score(y, est.predict(X)))}
    found: dict[str, Scorer] = {"accuracy": lambda est, X, y: float(
        m.accuracy_score(y, est.predict(X)))}
    if problem == "binary":
        def f1(est: Any, X: pd.DataFrame, y: pd.Series) -> float:
            return float(m.f1_score(y, est.predict(X), pos_label=est.classes_[1]))

        def roc_auc(est: Any, X: pd.DataFrame, y: pd.Series) -> float:
            return float(m.roc_auc_score(y == est.classes_[1], positive_scores(est, X)))

        found |= {"f1": f1, "roc_auc": roc_auc}
    else:
        found["f1_macro"] = lambda est, X, y: float(m.f1_score(y, est.predict(X),
                                                               average="macro"))
        if hasattr(model, "predict_proba"):
            found["roc_auc_ovr"] = lambda est, X, y: float(m.roc_auc_score(
                y, est.predict_proba(X), multi_class="ovr", labels=est.classes_))
    return found


# Called after each fold with its number (1, 2, ...) and that fold's scores by metric name
# (``accuracy``, ``rmse``, ...). It may raise to stop the cross-validation there.
FoldCallback = Callable[[int, dict[str, float]], None]


def cross_validate_model(model: Pipeline, X: pd.DataFrame, y: pd.Series, problem: Problem,
                         folds: int, seed: int, on_fold: FoldCallback | None = None
                         ) -> CVResult:
    """Shuffled ``folds``-fold CV (stratified for classification) of the unfitted ``model``.

    Fits ``folds`` clones (never ``model`` itself), one after another, and calls ``on_fold``
    after each one is scored; an exception it raises propagates and no result is returned.
    Scores equal scikit-learn's ``cross_validate`` with the same splitter and scorers.
    """
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = KFold if problem == "regression" else StratifiedKFold
    splitter = kind(n_splits=folds, shuffle=True, random_state=seed)
    scoring = scorers(problem, model)
    # Regression predictions are numbers even when the target holds integers.
    dtype = float if problem == "regression" else np.asarray(y).dtype
    predictions = np.empty(len(y), dtype=dtype)
    scores = np.empty(len(y), dtype=float) if problem == "binary" else None
    values: dict[str, list[float]] = {name: [] for name in scoring}
    # One fold at a time (not cross_validate) so a caller can stop between folds; the fold
    # models that were scored also give the out-of-fold predictions, without refitting.
    for number, (train_rows, test_rows) in enumerate(splitter.split(X, y), start=1):
        fold_model = clone(model).fit(X.iloc[train_rows], y.iloc[train_rows])
        held_out, truth = X.iloc[test_rows], y.iloc[test_rows]
        fold_scores = {name: score(fold_model, held_out, truth)
                       for name, score in scoring.items()}
        for name, value in fold_scores.items():
            values[name].append(value)
        predictions[test_rows] = fold_model.predict(held_out)
        if scores is not None:
            scores[test_rows] = positive_scores(fold_model, held_out)
        if on_fold is not None:
            on_fold(number, fold_scores)
    metrics: dict[str, float] = {}
    for name, fold_values in values.items():
        metrics[f"cv_{name}_mean"] = float(np.mean(fold_values))
        metrics[f"cv_{name}_std"] = float(np.std(fold_values))
    return CVResult(metrics, predictions, scores)
