"""Diagnostic plots of out-of-fold predictions, written as PNG files.

matplotlib is imported inside the functions: it is slow to import and most callers never plot.
Figures are bound to the Agg canvas directly, bypassing pyplot's global state (fork safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _new_figure(size: tuple[float, float] = (4.5, 4)) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[Any],
                     path: Path) -> None:
    """The confusion matrix of ``y_pred`` against ``y_true``, labelled with the classes."""
    from sklearn.metrics import ConfusionMatrixDisplay

    figure = _new_figure((max(4.5, 0.6 * len(classes) + 2.5),) * 2)
    axes = figure.add_subplot()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=list(classes),
                                            display_labels=[str(c) for c in classes],
                                            ax=axes, colorbar=False)
    axes.set_title("Out-of-fold confusion matrix")
    _save(figure, path)


def roc_curve(y_true: ArrayLike, scores: ArrayLike, positive: Any, path: Path) -> None:
    """The ROC curve (with its AUC) of positive-class ``scores``."""
    from sklearn.metrics import RocCurveDisplay

    figure = _new_figure()
    axes = figure.add_subplot()
    RocCurveDisplay.from_predictions(np.asarray(y_true) == positive, scores, ax=axes,
                                     plot_chance_level=True, name=f"{positive!s} vs rest")
    axes.set_title("Out-of-fold ROC curve")
    _save(figure, path)


def predicted_vs_true(y_true: ArrayLike, y_pred: ArrayLike, path: Path) -> None:
    """Out-of-fold predictions against the true values, with the diagonal."""
    figure = _new_figure()
    axes = figure.add_subplot()
    true, pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    axes.scatter(true, pred, s=8, alpha=0.6)
    low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    axes.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("true")
    axes.set_ylabel("predicted (out of fold)")
    axes.set_title("Predicted vs true")
    _save(figure, path)
