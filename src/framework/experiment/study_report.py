"""What a study shows: a line as each trial ends, the whole study as the sweep's outcomes (for
``sweep.csv``, ``sweep.png``, the best run and the registry: framework/experiment/sweep_report.py),
and Optuna's own plots on the parent run."""

from __future__ import annotations

import logging
import math
import re
import shlex
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.names import RUN_ID_PATTERN
from framework.experiment.sweep import Outcome
from framework.experiment.sweep_report import COLLECTED
from framework.search import study, study_checks

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient

    from framework.store.tracking import TrackedRun

PLOTS_FOLDER = "optuna"
RUNS_PER_QUERY = 100  # run ids per search: MLflow's query stays short
RUN_ID = re.compile(RUN_ID_PATTERN)
log = logging.getLogger(__name__)


def outcomes(found: optuna.Study, spec: sweep.SweepSpec) -> list[Outcome]:
    """Every finished trial that counts towards ``trials``, from any process, as an outcome;
    only a complete trial carries metrics (its value as ``spec.metric`` when it was added to
    the study without the runner's), so a pruned one is never the best."""
    result = []
    for trial in found.get_trials(deepcopy=False):
        if not trial.state.is_finished() or not study.counted(trial):
            continue
        attrs = trial.user_attrs
        complete = trial.state.name == "COMPLETE"
        metrics = dict(attrs.get(study_checks.METRICS_ATTR) or (
            {spec.metric: trial.value} if spec.metric and trial.value is not None else {}))
        result.append(Outcome(
            trial.number, study.decode(spec, trial), attrs.get(study.STATUS_ATTR,
                                                               trial.state.name),
            attrs.get(study.RUN_ATTR), float(attrs.get(study.SECONDS_ATTR, 0.0)),
            metrics if complete else {},
            attrs.get(study.ERROR_ATTR, ""), trial.number))
    return result


def mark_collected(client: MlflowClient, found: Sequence[Outcome]) -> list[Outcome]:
    """``found`` without the runs that are not in this tracking store (deleted since, e.g. by
    ``gc``, which leaves the study's storage alone; or logged to another store). A complete
    trial among them is ``COLLECTED``: its result still counts and still guides the study, but
    it names no run, so it is never the best run. Others keep their status and reason."""
    # Only ids shaped as MLflow's go into the query: a study's storage may be shared.
    named = [o.run_id for o in found if isinstance(o.run_id, str) and RUN_ID.fullmatch(o.run_id)]
    alive = existing_runs(client, named) if named else set()
    return [o if not o.run_id or o.run_id in alive else
            replace(o, status=COLLECTED, run_id=None,
                    error=f"its run {o.run_id} is not in this store; the study keeps its result")
            if o.metrics else replace(o, run_id=None)
            for o in found]


def existing_runs(client: MlflowClient, run_ids: Sequence[str]) -> set[str]:
    """Those of ``run_ids`` that are active runs of any experiment of the store."""
    experiments: list[str] = []
    token = None
    while True:  # every page: an older study's runs may be in an older experiment
        page = client.search_experiments(page_token=token)
        experiments += [experiment.experiment_id for experiment in page]
        if not (token := page.token):
            break
    alive: set[str] = set()
    for start in range(0, len(run_ids), RUNS_PER_QUERY):
        ids = ", ".join(f"'{run_id}'" for run_id in run_ids[start:start + RUNS_PER_QUERY])
        alive |= {run.info.run_id for run in client.search_runs(
            experiments, f"attributes.run_id IN ({ids})", max_results=RUNS_PER_QUERY)}
    return alive


def collected_note(outcomes: Sequence[Outcome], name: str, url: str) -> str | None:
    """What to say when complete trials name no run in this store, or None. Deleting the
    study is offered for a local sqlite storage only: a shared one holds others' trials."""
    gone = sum(o.status == COLLECTED for o in outcomes)
    if not gone:
        return None
    afresh = (f"delete it: optuna delete-study --storage {shlex.quote(url)} --study-name "
              f"{shlex.quote(name)}" if url.startswith("sqlite:///")
              else 'name a new one ([Sweep] study = "...")')
    return (f"study {name!r}: {gone} trial(s) have no run in this tracking store (deleted "
            "since, e.g. by gc, or logged to another store); their results stay in the study "
            f"and still guide it. To start the study afresh, {afresh}")


class StudyProgress:
    """``12/30 trials, 3 pruned, best 0.846 (trial 9), ~2 min left`` as each trial ends."""

    def __init__(self, found: optuna.Study, spec: sweep.SweepSpec,
                 deadline: float = math.inf) -> None:
        self.study, self.spec, self.deadline = found, spec, deadline
        self.started = time.monotonic()
        self.finished_here = 0

    def done(self, outcome: Outcome) -> None:
        self.finished_here += 1
        metric = self.spec.metric or ""
        value = outcome.metrics.get(metric)
        shown = f"{metric} {value:.4f}" if value is not None else outcome.error
        print(f"  [trial {outcome.trial}] {outcome.status:<8} {outcome.seconds:5.1f}s  "
              f"{sweep_points.describe(outcome.point)}  {shown}  run {outcome.run_id or '-'}",
              flush=True)
        trials = [t for t in self.study.get_trials(deepcopy=False) if study.counted(t)]
        ended = [t for t in trials if t.state.is_finished()]
        pruned = sum(t.state.name == "PRUNED" for t in ended)
        line = f"{len(ended)}/{self.spec.trials} trials, {pruned} pruned"
        complete = [t for t in ended if t.state.name == "COMPLETE" and t.value is not None
                    and not math.isnan(t.value)]
        if complete:
            best = (max if self.spec.goal == "maximize" else min)(
                complete, key=lambda t: float(t.value))  # type: ignore[arg-type]
            line += f", best {best.value:.4f} (trial {best.number})"
        line += remaining(self.started, self.finished_here,
                          max(self.spec.trials - len(ended), 0), self.deadline)
        print(line, flush=True)


def remaining(started: float, finished_here: int, left: int,
              deadline: float = math.inf) -> str:
    """``~2 min left`` from this process's pace so far; with a ``timeout`` (``deadline``, on
    ``time.monotonic``) no more than the time until no new trial starts, so the estimate
    never runs past it."""
    now = time.monotonic()
    if now >= deadline and left:
        return ", timeout reached: no new trial starts"
    if finished_here == 0 or left == 0:
        return ""
    seconds = (now - started) / finished_here * left
    until = "left"
    if seconds > deadline - now:
        seconds, until = deadline - now, "to the timeout"
    return f", ~{seconds / 60:.0f} min {until}" if seconds >= 90 else f", ~{seconds:.0f} s {until}"


def log_plots(parent: TrackedRun, found: optuna.Study) -> list[str]:
    """Optuna's optimization history, parameter importances, parallel coordinates and slice
    plots (its matplotlib versions: plotly is not a dependency) on the parent run, under
    ``optuna/``; a plot the study is too small for is left out. The names logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as views

    plots: dict[str, Any] = {"optimization_history": views.plot_optimization_history,
             "param_importances": views.plot_param_importances,
             "parallel_coordinate": views.plot_parallel_coordinate,
             "slice": views.plot_slice}
    logged = []
    with tempfile.TemporaryDirectory(prefix="study-") as scratch:
        for name, plot in plots.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    axes = plot(found)
            except Exception as error:  # too few trials, one value only, ...
                log.info("no %s plot: %s", name, error)
                continue
            first = axes.flat[0] if hasattr(axes, "flat") else axes
            path = Path(scratch) / f"{name}.png"
            first.figure.savefig(path, dpi=90, bbox_inches="tight")
            plt.close(first.figure)
            parent.log_artifact(path, PLOTS_FOLDER)
            logged.append(name)
    return logged
