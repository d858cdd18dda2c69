"""Warming a sweep's parent process while its first configuration runs.

With ``--workers N`` the launcher (framework/execution/launcher.py) forks the first worker,
hands it the first configuration and calls ``warm_up`` here before it forks the others. What
``warm_up`` loads, they inherit instead of each loading it again on their first configuration,
and the parent needs some of it itself for the report (``sweep.png``). It runs on the core the
first worker leaves free, and takes about as long as the first worker takes to publish the
upstream outputs every configuration shares (the Preprocessor of a Trainer grid), so the others
start when those exist rather than waiting for their claims.

Only first-time costs of a process are warmed, never anything a configuration records: loading
is all it does, and nothing fails because of it (an import that fails here is left to the
configuration that needs it). Library warnings it triggers are dropped: a configuration logs
its own in its run's ``logs/luigi.log``, and the terminal shows none.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from framework.config import file as config_file
from framework.experiment import experiment as app
from framework.experiment import sweep_check

if TYPE_CHECKING:
    from framework.planning.planner import Decision
    from framework.task.run_task import RunTask


def warm_up(config: config_file.ExperimentConfig, decisions: Sequence[Decision],
            registry: dict[str, type[RunTask]], project_root: Path) -> None:
    """Load what a configuration like ``config`` (planned as ``decisions``) loads the first
    time it runs in a process: the modules the code of its tasks that run imports (lazily
    too), MLflow's model-saving code, the dataset entries it records, and matplotlib, which
    the report's ``sweep.png`` needs in any case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _load(config, decisions, registry, project_root)
        except Exception:  # never a reason to fail: the configurations load it themselves
            return


def _load(config: config_file.ExperimentConfig, decisions: Sequence[Decision],
          registry: dict[str, type[RunTask]], project_root: Path) -> None:
    from framework.experiment import sweep_plot

    sweep_plot.load_plotting()
    running = {d.task for d in decisions if d.action == "run"}
    if not running:  # a configuration that reuses everything loads nothing more
        return
    from framework.outputs.signature import code_imports
    from framework.store import datasets, models
    from framework.task.dag import walk

    sweep_check.check_configuration(config, registry, ())  # Luigi holds its parameters
    dag = list(walk([registry[name](run_id=app.PLANNING_RUN_ID) for name in config.run.tasks]))
    modules = [module for task in dag if task.task_family in running
               for module in task.code_modules()]
    for name in code_imports(modules, project_root / "src"):
        _import(name)
    if any(task.model_folder for task in dag if task.task_family in running):
        models.load_model_saving()
    for task in dag:
        try:
            for raw in task.datasets():
                datasets.dataset_input(raw)
        except Exception:  # the configuration builds them again, and reports what fails
            continue


def _import(name: str) -> None:
    """Import ``name`` if it is a module that imports cleanly; else nothing."""
    try:
        importlib.import_module(name)
    except Exception:  # ``from a import f`` names no module; a broken one is the task's
        return
