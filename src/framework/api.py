"""The Python API, for notebooks: ``import runner`` after ``pip install -e .`` in the clone.

``runner.run(...)`` runs the experiment as the command line does, in a child process
(``python src/runner.py``: Luigi's configuration, signal handlers and the imported code are
per process, so a notebook kernel stays clean and a code change is picked up by the next
run), prints its progress, and returns a ``Result`` read from the store. ``runner.runs(...)``
is the ``runs`` verb as a ``pandas.DataFrame``. Bad input raises ``UserError`` with the
command line's message; nothing here calls ``sys.exit``.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import ExitCode, UserError

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TaskOutput:
    """One task of a run: its output folder, and whether an earlier run's output was used."""

    task: str
    folder: str
    reused: bool
    source_run: str  # the run that made the output (the run itself when not reused)


@dataclass(frozen=True)
class Result:
    """What ``run`` returns: the run (for a sweep, its parent, with the run of each
    configuration in ``children``: a child run, or the earlier run that stood in for it), its
    status and metrics, and each task's output."""

    run_id: str
    status: str
    metrics: dict[str, float]
    outputs: dict[str, TaskOutput]
    exit_code: int
    children: list[Result] = field(default_factory=list)


def toml_value(value: Any) -> str:
    """A Python value as a TOML value for ``--set``/``--sweep``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key} = {toml_value(v)}" for key, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise UserError(f"{value!r}: not a TOML value (give numbers, text, booleans, lists or "
                    "dicts)")


def command(config: str | Path, set: Mapping[str, Any] | None, sweep: Mapping[str, Any] | None,
            tasks: Sequence[str] | None, options: Sequence[str]) -> list[str]:
    path = Path(config).expanduser()
    if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
        path = PROJECT_ROOT / path  # as in the clone's root, wherever the notebook runs
    argv = [sys.executable, str(PROJECT_ROOT / "src" / "runner.py"), "--config",
            str(path.resolve())]
    for key, value in (set or {}).items():
        argv += ["--set", f"{key}={toml_value(value)}"]
    for key, values in (sweep or {}).items():
        argv += ["--sweep", f"{key}={toml_value(values)}"]
    for task in tasks or ():
        argv += ["--task", task]
    return [*argv, *options]


def run(config: str | Path = "luigi.toml", set: Mapping[str, Any] | None = None,
        sweep: Mapping[str, Any] | None = None, tasks: Sequence[str] | None = None,
        options: Sequence[str] = ()) -> Result:
    """Run the experiment (``set``: ``{"Trainer.seed": 1}`` as ``--set``; ``sweep``:
    ``{"Trainer.seed": [0, 1]}`` as ``--sweep``; ``tasks`` as ``--task``; ``options``: more
    command-line options, e.g. ``["--no-reuse"]``). Raises ``UserError`` for bad input and
    ``KeyboardInterrupt`` when interrupted; a failed task gives a ``FAILED`` result."""
    from framework.verbs.reproduce import RUN_LINE

    argv = command(config, set, sweep, tasks, options)
    run_id = None
    with subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stderr is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            if run_id is None and (found := RUN_LINE.match(line)):
                run_id = found.group(1)
        errors = child.stderr.read()
    if child.returncode == ExitCode.BAD_INPUT:
        lines = [line for line in errors.splitlines() if line.strip()]
        raise UserError(lines[-1].removeprefix("error: ") if lines else "bad input")
    if child.returncode == ExitCode.INTERRUPTED:
        raise KeyboardInterrupt(errors.strip())
    if errors.strip():
        print(errors, end="", file=sys.stderr)
    if run_id is None:
        raise RuntimeError(f"the runner exited {child.returncode} without naming a run")
    from framework.verbs import common

    return result_of(common.open_project_store(PROJECT_ROOT, chdir=False), run_id,
                     child.returncode)


def result_of(client: MlflowClient, run_id: str, exit_code: int) -> Result:
    from framework.verbs import records

    run = client.get_run(run_id)
    outputs = {}
    for task in records.tasks_of(run):
        made_by = records.producer(client, run, task)
        from framework.core.names import output_tag

        folder = made_by.data.tags.get(output_tag(task), "") if made_by else ""
        source = made_by.info.run_id if made_by else ""
        outputs[task] = TaskOutput(task, folder, source != run_id, source)
    children = [result_of(client, child, exit_code) for child in sweep_runs(client, run)
                if child != run_id]
    return Result(run_id, run.info.status, dict(run.data.metrics), outputs, exit_code,
                  children)


def sweep_runs(client: MlflowClient, run: Run) -> list[str]:
    """The run of each configuration of a sweep (``sweep.csv``: a configuration that already
    existed is its earlier run, not a child), else the run's child runs."""
    from framework.core.names import PARENT_TAG
    from framework.verbs.records import table_runs

    if table := table_runs(client, run):
        return table
    return [child.info.run_id for child in client.search_runs(
        [run.info.experiment_id], f"tags.`{PARENT_TAG}` = '{run.info.run_id}'")]


def runs(experiment: str | None = None, filter: str = "", sort: str | None = None,
         limit: int | None = 50, all_params: bool = False) -> pd.DataFrame:
    """The ``runs`` verb as a frame: run_id, parent_run_id, experiment, start_time, status,
    reused, then the params (those that differ, or all), then the metrics. ``experiment``
    None: the config's experiment when the store has it, else all."""
    from framework.verbs import runs as listing

    collecting = gc.isenabled()
    gc.disable()  # thousands of runs make millions of objects and few cycles (framework/heap)
    try:
        return listing.listing(PROJECT_ROOT, experiment, filter, sort, limit, all_params,
                               chdir=False)[0]
    finally:
        if collecting:
            gc.enable()
