"""What a sweep records on its parent run, and what it prints: progress, the comparison
(``sweep.csv``, one plot of the metric per swept parameter), the best configuration, and the
optional Model Registry entry."""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import toml

from framework.config import file as config_file
from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.names import (
    BEST_METRIC_PREFIX,
    CONFIG_FOLDER,
    EFFECTIVE_CONFIG_ARTIFACT,
    GIT_DIFF_ARTIFACT,
    SWEEP_BEST_CONFIGURATION_TAG,
    SWEEP_BEST_TAG,
    SWEEP_GRID_TAG,
    SWEEP_METRIC_TAG,
    SWEEP_PARAM_PREFIX,
    SWEEP_TABLE_ARTIFACT,
    SWEEP_TABLE_RUN_COLUMN,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from framework.core.gitinfo import GitState
    from framework.store.tracking import TrackedRun

GRID_NAME = "sweep_grid.json"
PLOT_NAME = "sweep.png"


REUSED = "REUSED"  # the configuration's earlier run stands in for it
COLLECTED = "COLLECTED"  # a study's trial whose run was deleted since (e.g. by gc)


@dataclass(frozen=True)
class Outcome:
    """One configuration's result, as the comparison needs it."""

    index: int
    point: dict[str, Any]
    status: str
    run_id: str | None = None
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    trial: int | None = None  # the Optuna trial number, when a study's trial



def record_sweep(parent: TrackedRun, config: config_file.ExperimentConfig,
                 spec: sweep.SweepSpec, points: Sequence[dict[str, Any]],
                 git: GitState | None) -> None:
    """The sweep's inputs: the file, the effective config, the grid, the git state."""
    parent.log_params({f"{SWEEP_PARAM_PREFIX}{key}": json.dumps(value)
                       for key, value in spec.raw.items()})
    parent.log_artifact(config.path, CONFIG_FOLDER)
    parent.log_text(toml.dumps({**config.document, config_file.SWEEP_SECTION: spec.raw}),
                    EFFECTIVE_CONFIG_ARTIFACT)
    parent.log_text(json.dumps(list(points), indent=2) + "\n", GRID_NAME)
    if git and git.dirty and git.diff:
        parent.log_text(git.diff, GIT_DIFF_ARTIFACT)


def stored_grid(client: MlflowClient, experiment: str, digest: str
                ) -> list[dict[str, Any]] | None:
    """The configurations an earlier sweep with the same digest expanded to, if its
    ``sweep_grid.json`` is on this machine: a random sweep's rerun need not import
    scikit-learn to draw its sample again."""
    from framework.store.tracking import local_path

    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs([found.experiment_id], f"tags.`{SWEEP_GRID_TAG}` = '{digest}'",
                              max_results=1, order_by=["attributes.start_time DESC"])
    folder = local_path(runs[0].info.artifact_uri) if runs else None
    try:
        points = json.loads((folder / GRID_NAME).read_text()) if folder else None
    except (OSError, ValueError):
        return None
    return points if isinstance(points, list) else None


def metric_of(spec: sweep.SweepSpec, outcomes: Sequence[Outcome]) -> str | None:
    """The metric that decides "best": ``[Sweep] metric``, else the first one logged."""
    if spec.metric:
        return spec.metric
    names = sorted({name for o in outcomes for name in o.metrics})
    return names[0] if names else None


def ranked(spec: sweep.SweepSpec, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Outcomes best first; those without the metric last, in their order."""
    metric = metric_of(spec, outcomes)
    sign = -1.0 if spec.goal == "maximize" else 1.0

    def key(outcome: Outcome) -> tuple[int, float, int]:
        value = outcome.metrics.get(metric or "")
        if value is None or math.isnan(value):
            return (1, 0.0, outcome.index)
        return (0, sign * value, outcome.index)

    return sorted(outcomes, key=key)


def best_of(spec: sweep.SweepSpec, outcomes: Sequence[Outcome]) -> Outcome | None:
    """The best outcome that has the metric and a run (a collected trial names none)."""
    metric = metric_of(spec, outcomes)
    top = [o for o in ranked(spec, outcomes) if o.run_id and metric in o.metrics][:1]
    return top[0] if top else None


class Progress:
    """``3/6 done, 41 s, ~40 s left, best so far: cv_accuracy_mean 0.84 (...)``."""

    def __init__(self, total: int, spec: sweep.SweepSpec) -> None:
        self.total, self.spec = total, spec
        self.started = time.monotonic()
        self.outcomes: list[Outcome] = []

    def done(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        metric = metric_of(self.spec, [outcome])
        value = outcome.metrics.get(metric or "")
        shown = f"{metric} {value:.4f}" if value is not None else outcome.error
        print(f"  [{outcome.index + 1}/{self.total}] {outcome.status:<8} "
              f"{outcome.seconds:5.1f}s  {sweep_points.describe(outcome.point)}  {shown}  "
              f"run {outcome.run_id or '-'}", flush=True)
        count, elapsed = len(self.outcomes), time.monotonic() - self.started
        left = elapsed / count * (self.total - count)
        line = f"{count}/{self.total} done, {elapsed:.0f} s, ~{left:.0f} s left"
        best = best_of(self.spec, self.outcomes)
        if best is not None:
            metric = metric_of(self.spec, self.outcomes)
            line += (f", best so far: {metric} {best.metrics[metric or '']:.4f} "
                     f"({sweep_points.describe(best.point)})")
        print(line, flush=True)


def table(spec: sweep.SweepSpec, outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per configuration, best first: swept values, status, run id, metrics."""
    import pandas as pd

    rows = [{**({"trial": o.trial} if o.trial is not None else {"configuration": o.index + 1}),
             **o.point, "status": o.status, SWEEP_TABLE_RUN_COLUMN: o.run_id,
             "seconds": round(o.seconds, 2), **dict(sorted(o.metrics.items()))}
            for o in ranked(spec, outcomes)]
    return pd.DataFrame(rows)


def compare(parent: TrackedRun, spec: sweep.SweepSpec, outcomes: Sequence[Outcome]
            ) -> Outcome | None:
    """Log the comparison on the parent run; return the best outcome (None if none has the
    metric). Runs also when the sweep was interrupted, over what finished."""
    if not outcomes:
        return None
    frame = table(spec, outcomes)
    metric = metric_of(spec, outcomes)
    with tempfile.TemporaryDirectory(prefix="sweep-") as scratch:
        frame.to_csv(Path(scratch) / SWEEP_TABLE_ARTIFACT, index=False)
        parent.log_artifact(Path(scratch) / SWEEP_TABLE_ARTIFACT)
        if metric is not None:
            from framework.experiment.sweep_plot import plot

            plot(spec, outcomes, metric, Path(scratch) / PLOT_NAME)
            parent.log_artifact(Path(scratch) / PLOT_NAME)
    best = best_of(spec, outcomes)
    from framework.experiment.sweep_note import describe_parent

    describe_parent(parent, spec, ranked(spec, outcomes), metric, best)
    if best is not None and best.run_id:
        parent.set_tags({SWEEP_BEST_TAG: best.run_id, SWEEP_METRIC_TAG: metric,
                         SWEEP_BEST_CONFIGURATION_TAG: sweep_points.describe(best.point)})
        from framework.store.tracking import log_metrics, tracking_uri

        log_metrics(tracking_uri(), parent.run_id,
                    {f"{BEST_METRIC_PREFIX}{name}": value for name, value in best.metrics.items()})
        if spec.register:
            from framework.experiment.sweep_register import register

            register(parent, best.run_id, spec.register)
    elif spec.register and any(metric in o.metrics for o in outcomes):  # else: print_table
        print(f"nothing registered: no configuration with {metric} has a run in this store",
              flush=True)
    return best


def print_table(spec: sweep.SweepSpec, outcomes: Sequence[Outcome], best: Outcome | None
                ) -> None:
    """The comparison at the end of the command, best first."""
    if not outcomes:
        return
    frame = table(spec, outcomes)
    metric = metric_of(spec, outcomes)
    wanted = [c for c in frame.columns
              if c in ("configuration", "trial", *spec.space, "status", "run_id")
              or (metric and c == metric) or str(c).endswith("_mean")]
    print(f"\nsweep results, best first by {metric} ({spec.goal}):", flush=True)
    shown = frame[wanted].fillna({SWEEP_TABLE_RUN_COLUMN: "-"})  # a run-less outcome
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"), flush=True)
    if best is not None:
        print(f"best: run {best.run_id} ({sweep_points.describe(best.point)})", flush=True)
    elif metric and not any(metric in o.metrics for o in outcomes):
        print(f"no configuration logged {metric}; set [Sweep] metric to one they log",
              flush=True)
