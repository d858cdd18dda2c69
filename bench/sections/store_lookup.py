"""Section ``lookup``: how the reuse lookup and ``--dry-run`` scale with the runs in a store.

One real runner run is the template; bench/lookup.py then clones its rows with SQL until the
store holds each of ``--lookup-runs`` runs. At every level (1 run, then each count) a child
process times ``OutputIndex.find`` per task (hit, first call, miss, earlier; medians of
``--lookup-calls`` warm calls) and the store opening, and the whole ``--dry-run`` is measured
(median of ``dry_runs``) and checked to reuse every task. For scale, it also reports what
creating a runner-like run through ``MlflowClient`` costs per run. (The helper doing the work
in a child is bench/lookup.py; this module only drives it.)
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import harness
import lookup
from harness import PYTHON, REPO, measure, summarise
from sections.common import TASKS, Settings, cleanup, count_reused, say


def bench_lookup(s: Settings) -> dict[str, Any]:
    """Lookup timings and dry-run wall time with 1 run, then each of ``lookup_runs`` runs."""
    project = harness.make_project(s.work / "lookup", s.data_dir, source=s.source)
    measure(harness.runner_cmd(), project, log=s.logs / "lookup-template.log")
    db = lookup.store_path(project)
    with sqlite3.connect(db) as connection:
        template = connection.execute("SELECT run_uuid FROM runs").fetchone()[0]
    levels: dict[str, Any] = {"1": lookup_level(s, project, template)}
    for runs in s.lookup_runs:
        say(f"lookup: {runs:,} runs in the store")
        started = time.perf_counter()
        added = lookup.populate(db, template, runs)
        levels[str(runs)] = lookup_level(s, project, template) | {
            "populate_s": round(time.perf_counter() - started, 2), "added": added}
    cleanup(s, project)
    return {"levels": levels, "client_create_ms_per_run": client_rate(s)}


def lookup_level(s: Settings, project: Path, template: str) -> dict[str, Any]:
    """One child timing the lookups, then the median of ``dry_runs`` ``--dry-run`` walls."""
    result = subprocess.run(
        [PYTHON, str(REPO / "bench" / "lookup.py"), "--project", str(project), "--run", template,
         "--calls", str(s.lookup_calls)],
        env=harness.child_env(), capture_output=True, text=True, check=True)
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    log = s.logs / "lookup-dry-run.log"
    dry = [measure(harness.runner_cmd("--dry-run"), project, log=log)
           for _ in range(s.dry_runs)]
    return timings | {"dry_run": summarise(dry).to_json(), "dry_run_reused_all":
                      count_reused(log) == len(TASKS)}


def client_rate(s: Settings) -> float:
    """Milliseconds per run to create runner-like runs through ``MlflowClient``."""
    db = s.work / "client-rate" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import lookup; "
            "print(lookup.client_create_rate(sys.argv[2], int(sys.argv[3])))")
    result = subprocess.run([PYTHON, "-c", code, str(REPO / "bench"), f"sqlite:///{db}",
                             str(s.client_rate_runs)],
                            env=harness.child_env(MLFLOW_LOGGING_LEVEL="WARNING",
                                                  MLFLOW_DISABLE_TELEMETRY="true"),
                            capture_output=True, text=True, check=True)
    cleanup(s, db.parent)
    return round(float(result.stdout.strip().splitlines()[-1]) * 1000, 2)


def render_lookup(found: dict[str, Any] | None) -> str:
    """The table of lookup levels and the MlflowClient line, or '' when not measured."""
    if not found:
        return ""
    lines = ["Reuse lookup, ms per task (median of warm calls; worst task), and the whole "
             "--dry-run", "",
             "| runs in store | find, hit | find, first call | find, miss | earlier | "
             "store open | dry-run s |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for runs, level in found["levels"].items():
        tasks = level["tasks"].values()
        worst = {key: max(task[key] for task in tasks)
                 for key in ("hit_ms", "hit_first_ms", "miss_ms", "earlier_ms")}
        lines.append(f"| {int(runs):,} | {worst['hit_ms']:.1f} | {worst['hit_first_ms']:.1f} | "
                     f"{worst['miss_ms']:.1f} | {worst['earlier_ms']:.1f} | "
                     f"{level['store_open_ms']:.0f} | {level['dry_run']['wall_s']:.2f} |")
    lines.append(f"\nCreating a runner-like run through MlflowClient: "
                 f"{found['client_create_ms_per_run']:.1f} ms (the bench clones rows with SQL)")
    return "\n".join(lines)

