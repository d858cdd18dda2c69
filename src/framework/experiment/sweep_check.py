"""Checking a sweep before anything runs: every value of every configuration, and the metric.

Checking is not planning. Each configuration's sections are checked as a single run's would be
(schema: unknown keys, wrong types) and the ``check()`` of every task a swept key belongs to
runs (an estimator that refuses a value); planning (signatures, the store's outputs, reuse)
waits until the configuration is about to run, when an earlier one may have made what it
needs. A large grid prints how far checking got every ``PROGRESS_EVERY`` configurations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import file as config_file
from framework.config import schema, sweep_points
from framework.config import sweep_spec as sweep
from framework.core.errors import UserError
from framework.experiment import experiment as app

if TYPE_CHECKING:
    from framework.task.run_task import RunTask

PROGRESS_EVERY = 1000


def check_configuration(cfg: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
                        checked_tasks: Iterable[str]) -> None:
    """The configuration's sections, made Luigi's, and the ``check()`` of ``checked_tasks``."""
    from framework.store.tracking import tracking_uri
    from framework.task.context import RunContext, activate

    values = schema.check_sections(cfg, registry)
    schema.install_luigi_config(cfg, values, registry)
    activate(RunContext(tracking_uri(), cfg.input_dir, cfg.pins))
    for name in checked_tasks:
        app.check_task(registry[name](run_id=app.PLANNING_RUN_ID), cfg)


def dag_tasks(cfg: config_file.ExperimentConfig, registry: dict[str, type[RunTask]]
              ) -> list[str]:
    """The task names of the configuration's DAG, upstream first (its config made Luigi's)."""
    from framework.task.dag import walk

    check_configuration(cfg, registry, ())
    roots = [registry[name](run_id=app.PLANNING_RUN_ID) for name in cfg.run.tasks]
    return [task.task_family for task in walk(roots)]


def check_all(base: config_file.ExperimentConfig, points: Sequence[dict[str, Any]], total: int,
              spec: sweep.SweepSpec, registry: dict[str, type[RunTask]], project_root: Path,
              what: str = "sweep configuration") -> None:
    """Check every point, or raise the ``UserError`` of the first bad one, naming it.

    The DAG is walked once, for the first point: a swept value changes a task's parameters,
    not which tasks there are.
    """
    swept = {key.split(".")[0] for key in spec.space}
    started = time.monotonic()
    checked: list[str] = []
    for number, point in enumerate(points, start=1):
        try:
            cfg = sweep_points.configuration(base, point, spec, project_root)
            if number == 1:
                checked = [name for name in dag_tasks(cfg, registry) if name in swept]
            check_configuration(cfg, registry, checked)
        except UserError as error:
            raise UserError(f"{what} {number}/{total} ({sweep_points.describe(point)}): {error}"
                            ) from None
        if number % PROGRESS_EVERY == 0 and number < total:
            print(f"checked {number:,}/{total:,} configurations "
                  f"({time.monotonic() - started:.0f} s)", flush=True)


def logged_metrics(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]]
                   ) -> dict[str, str]:
    """Metric name -> the task that logs it, as the DAG's tasks declare (``metric_names``),
    for the configuration Luigi holds now."""
    from framework.task.dag import walk

    roots = [registry[name](run_id=app.PLANNING_RUN_ID) for name in config.run.tasks]
    return {metric: task.task_family for task in walk(roots) for metric in task.metric_names()}


def check_metric(spec: sweep.SweepSpec, config: config_file.ExperimentConfig,
                 registry: dict[str, type[RunTask]]) -> str | None:
    """Refuse a ``metric`` no task of the DAG logs; the task that logs the sweep's metric.

    Tasks say which metrics they log (``RunTask.metric_names``); a DAG none of whose tasks
    says cannot be checked, and its sweep finds out at the end, as before.
    """
    logged = logged_metrics(config, registry)
    if spec.metric is None or not logged:
        return logged.get(spec.metric or "")
    if spec.metric not in logged:
        raise UserError(f"{sweep.SECTION} metric = {spec.metric!r}: no task of "
                        f"{' + '.join(config.run.tasks)} logs it"
                        f"{config_file.suggest(spec.metric, logged)}; they log "
                        f"{', '.join(sorted(logged))}")
    return logged[spec.metric]


def with_headline_metric(spec: sweep.SweepSpec, config: config_file.ExperimentConfig,
                         registry: dict[str, type[RunTask]]) -> sweep.SweepSpec:
    """``spec`` with the DAG's headline metric (and its goal) when ``[Sweep]`` names none;
    e.g. ``cv_rmse_mean``, minimized, for a regression. Uses the configuration last checked."""
    if spec.metric is not None:
        return spec
    from framework.task.dag import walk

    roots = [registry[name](run_id=app.PLANNING_RUN_ID) for name in config.run.tasks]
    for task in walk(roots):
        headline = task.headline_metric()
        if headline is not None:
            metric, goal = headline
            return replace(spec, metric=metric, goal=spec.raw.get("goal", goal))
    return spec
