"""A sweep's ``sweep.png``: its metric against each swept parameter, one panel each."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from framework.config import sweep_spec as sweep


class Outcome(Protocol):
    """What the plot reads of ``sweep_report.Outcome`` (which imports this module)."""

    @property
    def point(self) -> Mapping[str, Any]: ...
    @property
    def metrics(self) -> Mapping[str, float]: ...

# matplotlib's object API without pyplot: no global figure state, and a lighter import.
PLOT_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg")


def load_plotting() -> None:
    """Import what ``plot`` needs (about 0.3 s, once per process): a sweep with workers does
    it while its first configuration runs, not after the last (experiment/sweep_warm.py)."""
    import importlib

    for name in PLOT_MODULES:
        importlib.import_module(name)


def plot(spec: sweep.SweepSpec, outcomes: Sequence[Outcome], metric: str, path: Path) -> None:
    """The metric against each swept parameter, one panel each."""
    from matplotlib.figure import Figure

    keys = list(spec.space)
    figure = Figure(figsize=(4.5 * len(keys), 3.6))
    axes = figure.subplots(1, len(keys), squeeze=False)
    for axis, key in zip(axes[0], keys, strict=True):
        points = [(o.point[key], o.metrics[metric]) for o in outcomes if metric in o.metrics]
        numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x, _ in points)
        if numeric:
            axis.scatter([x for x, _ in points], [y for _, y in points])
            positive = [x for x, _ in points if x > 0]
            if len(positive) == len(points) and points and max(positive) / min(positive) >= 100:
                axis.set_xscale("log")
        else:
            labels = sorted({json.dumps(x) for x, _ in points})
            axis.scatter([labels.index(json.dumps(x)) for x, _ in points],
                         [y for _, y in points])
            axis.set_xticks(range(len(labels)), labels, rotation=30)
        axis.set_xlabel(key)
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    figure.suptitle(f"{metric} ({spec.goal}) over {len(outcomes)} configurations")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
