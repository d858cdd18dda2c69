"""Diagnostic plots of out-of-fold predictions: real PNG files, for each kind of plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tabular import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng(0)
TEXT = RNG.choice(["no", "yes"], 60)
THREE = RNG.choice(["setosa", "versicolor", "virginica"], 60)
NUMBERS = RNG.normal(size=60)
PREDICTED_TEXT, PREDICTED_THREE = RNG.permutation(TEXT), RNG.permutation(THREE)
NOISY = NUMBERS + RNG.normal(scale=0.3, size=60)


def assert_png(path: Path) -> None:
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = imread(path).shape
    assert height > 100 and width > 100


PLOTS: dict[str, Callable[[Path], None]] = {
    "confusion_binary_text": lambda path: plots.confusion_matrix(
        TEXT, PREDICTED_TEXT, ["no", "yes"], path),
    "confusion_bool": lambda path: plots.confusion_matrix(
        TEXT == "yes", NUMBERS > 0, [False, True], path),
    "confusion_multiclass": lambda path: plots.confusion_matrix(
        THREE, PREDICTED_THREE, ["setosa", "versicolor", "virginica"], path),
    "roc_text": lambda path: plots.roc_curve(TEXT, NUMBERS, "yes", path),
    "roc_bool": lambda path: plots.roc_curve(TEXT == "yes", NUMBERS, True, path),
    "predicted_vs_true": lambda path: plots.predicted_vs_true(NUMBERS, NOISY, path),
}


@pytest.mark.parametrize("kind", sorted(PLOTS))
def test_each_plot_writes_a_png(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "plots" / f"{kind}.png"  # the parent folder is created on demand
    PLOTS[kind](path)
    assert_png(path)


def test_predicted_vs_true_accepts_integer_targets(tmp_path: Path) -> None:
    plots.predicted_vs_true(np.arange(30), np.arange(30) + 0.5, tmp_path / "p.png")
    assert_png(tmp_path / "p.png")
