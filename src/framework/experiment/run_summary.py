"""What a single run ends with on the terminal: its metrics, and a readable name for the run.

The metrics are the ones each task stored in its output's manifest (the same values the run
logged), so a run whose scores come from an earlier output says which run computed them. A
``<name>_mean`` metric is shown with its ``<name>_std`` as ``<name> 0.8395 ± 0.0210``; the
task's headline metric (``RunTask.headline_metric``) comes first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from framework.core.names import MANIFEST_METRICS_KEY

if TYPE_CHECKING:
    from framework.planning.planner import Decision
    from framework.task.run_task import RunTask

MEAN, STD = "_mean", "_std"
REUSED_ACTIONS = ("reuse", "pinned")


def shown_metrics(metrics: Mapping[str, float], headline: str | None = None) -> str:
    """``cv_accuracy 0.8395 ± 0.0210, cv_f1 0.7781 ± 0.0301``: headline first, then by name;
    each mean with its std, other metrics as they are."""
    order = sorted(metrics, key=lambda name: (name != headline, name))
    parts = []
    for name in order:
        base = name.removesuffix(MEAN)
        if name.endswith(STD) and name.removesuffix(STD) + MEAN in metrics:
            continue  # shown with its mean
        if name.endswith(MEAN) and base + STD in metrics:
            parts.append(f"{base} {metrics[name]:.4f} ± {metrics[base + STD]:.4f}")
        else:
            parts.append(f"{name} {metrics[name]:.4f}")
    return ", ".join(parts)


def headline_of(task: RunTask) -> str | None:
    try:
        found = task.headline_metric()
    except Exception:  # a summary never fails a finished run
        return None
    return found[0] if found else None


def headline_columns(dag: Sequence[RunTask]) -> list[str]:
    """The DAG's headline metric and its std, e.g. ``cv_accuracy_mean, cv_accuracy_std``."""
    for task in dag:
        headline = headline_of(task)
        if headline:
            std = headline.removesuffix(MEAN) + STD
            return [headline, std] if headline.endswith(MEAN) else [headline]
    return []


def result_lines(dag: Sequence[RunTask], decisions: Sequence[Decision]) -> list[str]:
    """One line per task whose output holds metrics, headline first, naming the run that
    computed them when the output was reused (``(reused from run 1a2b3c4d)``)."""
    by_task = {d.task: d for d in decisions}
    lines = []
    for task in dag:
        output = task.output()
        metrics = (output.manifest() or {}).get(MANIFEST_METRICS_KEY) if output.exists() else None
        if not metrics:
            continue
        decision = by_task.get(task.task_family)
        source = ""
        if decision is not None and decision.action in REUSED_ACTIONS and decision.source_run:
            how = "pinned" if decision.action == "pinned" else "reused"
            source = f" ({how} from run {decision.source_run[:8]})"
        shown = shown_metrics({k: float(v) for k, v in metrics.items()}, headline_of(task))
        lines.append(f"  {task.task_family:<14} {shown}{source}")
    return lines


def run_name(dag: Sequence[RunTask], decisions: Sequence[Decision],
             requested: Sequence[str]) -> str:
    """``GradientBoostingClassifier, reused Preprocessor+Trainer``: what the run's models are
    (``RunTask.model_name``; else the requested tasks), and what it reused."""
    models = [name for task in dag if (name := task.model_name())]
    what = " + ".join(dict.fromkeys(models)) or " + ".join(requested)
    reused = [d.task for d in decisions if d.action in REUSED_ACTIONS]
    if reused and {d.task for d in decisions if d.action != "skip"} <= set(reused):
        return f"{what}, all reused"
    return f"{what}, reused {'+'.join(reused)}" if reused else what
