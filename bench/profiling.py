"""Where the runner's time goes: import time by package and the cost of each phase.

Two views of one command run in a project copy:
- ``import_profile``: ``python -X importtime``; every module's *self* time is added to its
  top-level package, so the figures add up to the whole import time without double counting;
- ``phase_profile``: ``python -m cProfile``; the cumulative time of the functions that make up
  a run (loading the tasks, opening the store, planning, each task's work, model saving,
  output verification...). cProfile slows Python-heavy code down (imports most), so the
  profiled run's own wall time is reported beside the phases for scale.
"""

from __future__ import annotations

import pstats
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness import PYTHON, child_env, measure

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
TOP_PACKAGES = 12
# (label, end of the file name, function name): the phases of a run, outermost first.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("whole run (runner.main)", "src/runner.py", "main"),
    ("load task modules (imports)", "framework/app.py", "load_tasks"),
    ("open the MLflow store (MlflowClient)", "mlflow/tracking/client.py", "__init__"),
    ("plan: signatures + reuse lookup", "framework/app.py", "plan"),
    ("  code digests (AST hashing)", "framework/signature.py", "code_digests"),
    ("  input digests (sha256 of csv)", "framework/signature.py", "input_digests"),
    ("  reuse lookup: find", "framework/reuse.py", "find"),
    ("  reuse lookup: latest", "framework/reuse.py", "latest"),
    ("read git state (GitPython)", "framework/gitinfo.py", "read_git_state"),
    ("open the run (experiment, create_run)", "framework/tracking.py", "tracked_run"),
    ("record inputs (params, tags, config)", "framework/app.py", "record_inputs"),
    ("luigi.build (all tasks)", "framework/execution.py", "execute"),
    ("  Preprocessor.produce", "tasks/preprocessor.py", "produce"),
    ("  Trainer.produce", "tasks/trainer.py", "produce"),
    ("    save_model (MLflow model)", "tasks/trainer.py", "save_model"),
    ("  Evaluator.produce", "tasks/evaluator.py", "produce"),
    ("    cross_validate_model", "titanic/evaluation.py", "cross_validate_model"),
    ("    plots (matplotlib)", "titanic/evaluation.py", "_new_figure"),
    ("  Prediction.produce", "tasks/prediction.py", "produce"),
    ("  mlflow.sklearn.load_model", "mlflow/sklearn/__init__.py", "load_model"),
    ("  output verification (sha256)", "framework/outputs.py", "problem"),
    ("  output publishing (manifest)", "framework/outputs.py", "_publish"),
    ("  parquet reads", "pandas/io/parquet.py", "read_parquet"),
    ("  parquet writes", "pandas/io/parquet.py", "to_parquet"),
    ("  task metrics (new client per call)", "framework/tracking.py", "log_metrics"),
    ("upload luigi.log / artifacts", "framework/tracking.py", "log_artifact"),
)


def import_profile(cmd: list[str], cwd: Path, log: Path) -> dict[str, Any]:
    """Import time of the Python command ``cmd`` by top-level package (ms, largest first)."""
    result = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd,
                            env=child_env(), capture_output=True, text=True, check=True)
    log.write_text(result.stderr)
    by_package: dict[str, float] = defaultdict(float)
    for line in result.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            by_package[match.group(4).split(".")[0]] += int(match.group(1)) / 1000
    ranked = sorted(by_package.items(), key=lambda item: -item[1])
    top = {name: round(ms) for name, ms in ranked[:TOP_PACKAGES]}
    top["(other)"] = round(sum(ms for _, ms in ranked[TOP_PACKAGES:]))
    return {"total_ms": round(sum(by_package.values())), "by_package_ms": top}


def phase_profile(project: Path, args: list[str], out: Path) -> dict[str, Any]:
    """Cumulative seconds of each phase in ``PHASES`` for one cProfile'd run of the runner."""
    stats_file = out.with_suffix(".prof")
    sample = measure([PYTHON, "-m", "cProfile", "-o", str(stats_file), "src/runner.py", *args],
                     project, log=out.with_suffix(".log"))
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    phases: dict[str, float] = {}
    for label, file_end, function in PHASES:
        seconds = sum(entry[3] for (file, _, name), entry in stats.items()
                      if file.endswith(file_end) and name == function)
        if seconds:
            phases[label] = round(seconds, 3)
    with out.with_suffix(".txt").open("w") as stream:
        pstats.Stats(str(stats_file), stream=stream).sort_stats("cumulative").print_stats(60)
    return {"profiled_wall_s": round(sample.wall_s, 3), "phases_s": phases}
