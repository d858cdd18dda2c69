"""The verbs on a big store: ``runs``, ``diff``, ``gc --dry-run`` and ``gc`` at 10,000 runs,
and ``reproduce --verify`` of the shipped default experiment.

``python bench/verbs.py [--runs 10000] [--with-artifacts 300] [--repeats 3]`` makes a project
copy, runs the default experiment twice (seed 0 and 1), fills the store with clones of the
first run (``lookup.populate``: rows inserted with SQL, as a runner would have logged them),
gives ``--with-artifacts`` of the clones a real copy of its artifact folder (so gc has bytes to
free), then times each command as a user types it, in a fresh process, and prints one JSON
object (also written to ``bench/results/verbs.json``).

Targets: ``runs`` first row <= 1 s, ``diff`` <= 1.5 s, ``gc --dry-run`` <= 10 s; the store's
size on disk after ``gc --keep-last 10``; ``reproduce --verify``: every prediction and
metric identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PYTHON, REPO, child_env, make_project, scratch_dir
from harness import measure as harness_measure
from lookup import populate, store_path


def runner(project: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PYTHON, "src/runner.py", *args], cwd=project, env=child_env(),
                            capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def run_id_of(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("FINISHED run"))
    return line.split()[2]


def first_row_s(project: Path, args: list[str], marker: str) -> tuple[float, float, float]:
    """(seconds until a line holding ``marker`` is printed, seconds until the process ends,
    its CPU seconds: what the wall times would be on an idle machine, roughly)."""
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, "src/runner.py", *args], cwd=project,
                               env=child_env(COLUMNS="160"), stdout=subprocess.PIPE, text=True)
    first = None
    assert process.stdout is not None
    for line in process.stdout:
        if first is None and marker in line:
            first = time.perf_counter() - started
    _, status, usage = os.wait4(process.pid, 0)
    total = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0 or first is None:
        raise SystemExit(f"{args} exited {status} without {marker!r}")
    return first, total, usage.ru_utime + usage.ru_stime


def timed(project: Path, args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command."""
    sample = harness_measure([PYTHON, "src/runner.py", *args], project)
    return sample.wall_s, sample.cpu_s


def import_mlflow(project: Path) -> dict[str, float]:
    """The floor of every verb: a process that imports MlflowClient and opens the store."""
    code = ("import time; t = time.perf_counter(); from mlflow.tracking import MlflowClient; "
            "i = time.perf_counter() - t; c = MlflowClient('sqlite:///mlruns/mlflow.db'); "
            "c.search_experiments(max_results=1); print(i, time.perf_counter() - t)")
    out = subprocess.run([PYTHON, "-c", code], cwd=project, env=child_env(), text=True,
                         capture_output=True, check=True).stdout.split()
    return {"import_s": round(float(out[0]), 2), "import_and_open_store_s": round(float(out[1]), 2)}


def disk_bytes(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file())


def with_artifacts(project: Path, template: str, count: int) -> int:
    """Copy the template run's artifact folder to ``count`` clones; how many got one."""
    import sqlite3

    with sqlite3.connect(store_path(project)) as connection:
        rows = connection.execute("SELECT run_uuid, artifact_uri FROM runs WHERE run_uuid != ? "
                                  "ORDER BY start_time LIMIT ?", (template, count)).fetchall()
        origin = connection.execute("SELECT artifact_uri FROM runs WHERE run_uuid = ?",
                                    (template,)).fetchone()[0]
    for _, uri in rows:
        shutil.copytree(Path(origin.removeprefix("file://")), Path(uri.removeprefix("file://")),
                        dirs_exist_ok=True)
    return len(rows)


def measure(project: Path, total: int, copies: int, repeats: int) -> dict[str, Any]:
    a = run_id_of(runner(project).stdout)
    b = run_id_of(runner(project, "--set", "Trainer.seed=1").stdout)
    verify = runner(project, "reproduce", a, "--verify")
    populate(store_path(project), a, total)
    copied = with_artifacts(project, a, copies)
    runs = [first_row_s(project, ["runs"], "│ ") for _ in range(repeats)]
    diffs = [timed(project, ["diff", a, b]) for _ in range(repeats)]
    dry = [timed(project, ["gc", "--keep-last", "10", "--dry-run"]) for _ in range(repeats)]
    before = disk_bytes(project / "mlruns")
    started = time.perf_counter()
    collected = runner(project, "gc", "--keep-last", "10")
    gc_s = time.perf_counter() - started
    after = disk_bytes(project / "mlruns")
    return {
        "runs_in_store": total, "clones_with_artifacts": copied, "repeats": repeats,
        "runs_first_row_s": round(statistics.median(r[0] for r in runs), 2),
        "runs_total_s": round(statistics.median(r[1] for r in runs), 2),
        "runs_cpu_s": round(statistics.median(r[2] for r in runs), 2),
        "diff_s": round(statistics.median(d[0] for d in diffs), 2),
        "diff_cpu_s": round(statistics.median(d[1] for d in diffs), 2),
        "gc_dry_run_s": round(statistics.median(d[0] for d in dry), 2),
        "gc_dry_run_cpu_s": round(statistics.median(d[1] for d in dry), 2),
        "import_mlflow_s": import_mlflow(project),
        "gc_s": round(gc_s, 1),
        "gc_summary": [line for line in collected.stdout.splitlines()
                       if line.startswith(("deleted", "store database"))],
        "mlruns_before_gc_mib": round(before / 2**20, 1),
        "mlruns_after_gc_keep_last_10_mib": round(after / 2**20, 1),
        "reproduce_verify_exit": verify.returncode,
        "reproduce_verify_says": [line for line in verify.stdout.splitlines()
                                  if line.startswith(("verify:", "reproduced", "NOT"))],
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store")
    parser.add_argument("--with-artifacts", type=int, default=300,
                        help="clones that get a real artifact folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "input")
    parser.add_argument("--keep", action="store_true", help="keep the project copy")
    args = parser.parse_args(argv)
    scratch = scratch_dir(None, "bench-verbs-")
    try:
        project = make_project(scratch / "project", args.data)
        result = measure(project, args.runs, args.with_artifacts, args.repeats)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "verbs.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
