"""Wall-clock phases of one runner command, with almost no profiling overhead.

``python bench/phases.py --out FILE.json -- [runner options]``, started in a project copy,
runs ``src/runner.py``'s ``main`` in this process after wrapping the functions that make up a
run (loading the tasks, opening the store, planning, git, each task's work, model saving,
output verification, MLflow logging...) with timers. Only wrapped calls are timed, so the
cost is a few microseconds per call, unlike cProfile, which slows import-heavy code down by
half. Times of nested phases are included in their parents; ``(not in a phase)`` is what the
top-level phases leave of the time since this script started.
"""

from __future__ import annotations

import functools
import importlib.abc
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

STARTED = time.perf_counter()
seconds: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
TOP_LEVEL = ("import runner + framework", "load task modules", "open MLflow store",
             "plan", "track and execute")


def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, adding its wall time to ``seconds[label]``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[label] += time.perf_counter() - started
            calls[label] += 1

    return wrapper


def wrap(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a timed version (classes and modules alike)."""
    setattr(owner, name, timed(label, getattr(owner, name)))


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``hooks[name](module)`` right after module ``name`` is first executed, so timers
    go in without changing what is imported when (import costs stay in their phases)."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.hooks = hooks

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.hooks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                _run_after(spec.loader, self.hooks[name])
                return spec
        return None


def _run_after(loader: Any, hook: Callable[[ModuleType], None]) -> None:
    """Make ``loader`` call ``hook(module)`` once it has executed the module."""
    execute = loader.exec_module

    def exec_module(module: ModuleType) -> None:
        execute(module)
        hook(module)

    loader.exec_module = exec_module


def wrap_first(owner: Any, name: str, first: str, later: str) -> None:
    """Like ``wrap``, but the first call is timed under ``first`` and the others ``later``."""
    function = getattr(owner, name)
    labelled = {first: timed(first, function), later: timed(later, function)}

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return labelled[later if calls[first] else first](*args, **kwargs)

    setattr(owner, name, wrapper)


def each(*steps: tuple[str, str]) -> Callable[[ModuleType], None]:
    """A hook wrapping ``(dotted attribute, label)`` pairs of the imported module."""

    def hook(module: ModuleType) -> None:
        for attribute, label in steps:
            owner_path, _, name = attribute.rpartition(".")
            owner: Any = module
            for part in filter(None, owner_path.split(".")):
                owner = getattr(owner, part)
            wrap(owner, name, label)

    return hook


def client_hook(module: ModuleType) -> None:
    wrap_first(module.MlflowClient, "__init__", "open MLflow store",
               "      MlflowClient() in tasks")
    wrap(module.MlflowClient, "create_run", "  create the run")
    wrap(module.MlflowClient, "set_terminated", "  end the run")


HOOKS: dict[str, Callable[[ModuleType], None]] = {
    "framework.experiment.experiment": each(("plan", "plan"),
                                            ("track_and_execute", "track and execute")),
    "framework.task.registry": each(("load_tasks", "load task modules")),
    "framework.experiment.recording": each(
        ("record_inputs", "  record inputs (params, tags, config)"),
        ("record_lineage", "  record lineage (reused outputs)"),
        ("record_datasets", "  record datasets (raw tables)")),
    "framework.planning.planner": each(("code_digests", "  code digests (AST hashing)"),
                            ("input_digests", "  input digests (sha256 of raw files)"),
                            ("OutputIndex.find", "  reuse lookup: find"),
                            ("nearest", "  plan reasons: nearest earlier output")),
    "framework.core.gitinfo": each(("read_git_state", "  git state (GitPython)")),
    "framework.store.tracking": each(("ensure_experiment", "  get or create the experiment"),
                               ("log_metrics", "    task metrics (a new client per call)"),
                               ("TrackedRun.log_artifact",
                                "  artifacts (config, plan, luigi.log)")),
    "framework.execution.luigi_build": each(("execute", "  luigi.build (all tasks)")),
    "framework.outputs.folder": each(("OutputFolder.problem", "    output verification (sha256)"),
                              ("OutputFolder._publish",
                               "    output publishing (sha256 + manifest)")),
    "tasks.preprocessor": each(("Preprocessor.produce", "    Preprocessor.produce")),
    "tasks.trainer": each(("Trainer.produce", "    Trainer.produce"),
                          ("Trainer.fit", "      Trainer: fit"),
                          ("save_model", "      Trainer: save MLflow model")),
    "tasks.evaluator": each(("Evaluator.produce", "    Evaluator.produce")),
    "tasks.prediction": each(("Prediction.produce", "    Prediction.produce")),
    "tabular.evaluation": each(("cross_validate_model", "      Evaluator: cross-validation")),
    "tabular.plots": each(("confusion_matrix", "      Evaluator: plots"),
                          ("roc_curve", "      Evaluator: plots")),
    "mlflow.sklearn": each(("load_model", "      mlflow.sklearn.load_model")),
    "mlflow.tracking.client": client_hook,
    "pandas": each(("read_parquet", "      parquet reads"),
                   ("DataFrame.to_parquet", "      parquet writes")),
}


def report() -> dict[str, Any]:
    total = time.perf_counter() - STARTED
    phases = {label: round(value, 3) for label, value in seconds.items()}
    phases["(not in a phase)"] = round(total - sum(seconds[label] for label in TOP_LEVEL), 3)
    return {"in_process_s": round(total, 3), "phases_s": phases,
            "calls": dict(calls)}


def main(argv: list[str]) -> int:
    out = Path(argv[argv.index("--out") + 1])
    runner_args = argv[argv.index("--") + 1:] if "--" in argv else []
    sys.path.insert(0, str(Path.cwd() / "src"))
    sys.meta_path.insert(0, AfterImport(HOOKS))
    started = time.perf_counter()
    import runner

    seconds["import runner + framework"] += time.perf_counter() - started
    try:
        code = runner.main(runner_args)
    finally:
        out.write_text(json.dumps(report(), indent=2))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
