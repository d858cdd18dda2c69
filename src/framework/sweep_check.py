"""Checking a sweep before anything runs: every value of every configuration, and the metric.

Checking is not planning. Each configuration's sections are checked as a single run's would be
(schema: unknown keys, wrong types) and the ``check()`` of every task a swept key belongs to
runs (an estimator that refuses a value); planning (signatures, the store's outputs, reuse)
waits until the configuration is about to run, when an earlier one may have made what it
needs. A large grid prints how far checking got every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import app, schema, sweep
from framework import config as config_file
from framework.errors import UserError

if TYPE_CHECKING:
    from framework.run_task import RunTask

PROGRESS_SECONDS = 3.0


def check_configuration(cfg: config_file.ExperimentConfig, registry: dict[str, type[RunTask]],
                        swept_tasks: set[str]) -> None:
    """The configuration's sections, made Luigi's, and the swept tasks' own checks."""
    from framework.context import RunContext, activate
    from framework.execution import walk
    from framework.tracking import tracking_uri

    values = schema.check_sections(cfg, registry)
    schema.install_luigi_config(cfg, values, registry)
    activate(RunContext(tracking_uri(), cfg.input_dir, cfg.pins))
    roots = [registry[name](run_id=app.PLANNING_RUN_ID) for name in cfg.run.tasks]
    for task in walk(roots):
        if task.task_family in swept_tasks:
            task.check()


def check_all(base: config_file.ExperimentConfig, points: Iterable[dict[str, Any]], total: int,
              spec: sweep.SweepSpec, registry: dict[str, type[RunTask]], project_root: Path,
              what: str = "sweep configuration") -> None:
    """Check every point, or raise the ``UserError`` of the first bad one, naming it."""
    swept_tasks = {key.split(".")[0] for key in spec.space}
    started = shown = time.monotonic()
    for number, point in enumerate(points, start=1):
        try:
            cfg = sweep.configuration(base, point, spec, project_root)
            check_configuration(cfg, registry, swept_tasks)
        except UserError as error:
            raise UserError(f"{what} {number}/{total} ({sweep.describe(point)}): {error}"
                            ) from None
        if time.monotonic() - shown > PROGRESS_SECONDS:
            shown = time.monotonic()
            print(f"checked {number:,}/{total:,} configurations "
                  f"({shown - started:.0f} s)", flush=True)


def logged_metrics(config: config_file.ExperimentConfig, registry: dict[str, type[RunTask]]
                   ) -> dict[str, str]:
    """Metric name -> the task that logs it, as the DAG's tasks declare (``metric_names``),
    for the configuration Luigi holds now."""
    from framework.execution import walk

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

