"""The performance benchmark: ``python bench/run.py [--quick] [--out bench/results/latest.json]``.

In one invocation, on this machine, side by side (see bench/README.md):
1. titanic: the plain pandas + scikit-learn script (bench/plain.py), the runner's first full
   run (fresh store), a full run in an existing store (``--no-reuse``) and a fully reused
   rerun; wall time and peak memory, medians of ``--repeats`` interleaved repeats;
2. scale: the same on synthetic Titanic-shaped data (bench/synth.py) of ``--sizes`` training
   rows, runner (full run, existing empty store) versus the plain script, both with the same
   ``--scale-set`` overrides (default: 20 trees instead of 200, so 1M rows take minutes);
3. lookup: ``OutputIndex.find`` per task and the whole ``--dry-run`` with ``--lookup-runs``
   runs in the store;
4. profile: import time by package and the phases of a first and a reused run (cProfile).
It prints markdown tables and writes everything, raw samples included, to ``--out``.
Every command runs in a throw-away copy of the project: the user's store is never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import lookup
import profiling
import synth
from harness import PYTHON, REPO, Sample, measure, summarise

DEFAULT_SCALE_SET = ("Trainer.estimator_params={n_estimators = 20, max_depth = 3, "
                     "learning_rate = 0.05, subsample = 0.8}")
TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")
TITANIC_KINDS = {
    "plain": "plain script (pandas + scikit-learn)",
    "runner_first": "runner, first full run (fresh store)",
    "runner_full": "runner, full run, existing store (--no-reuse)",
    "runner_reused": "runner, fully reused rerun",
}
# The targets of the startup-cost issue (ratios to the plain script, milliseconds).
TARGETS = {"titanic_full": 1.5, "titanic_first": 1.8, "titanic_reused": 0.6,
           "seed_full": 2.5, "seed_reused": 1.5, "reused_memory": 1.0,
           "scale_time": 1.25, "scale_memory": 1.5, "lookup_ms_10k": 5.0, "lookup_ms_100k": 50.0}
SEED_CONFIG = REPO / "bench" / "seed.toml"
GROWTH_FROM, GROWTH_TO = 100_000, 1_000_000
MEMORY_HEADROOM = 1.3  # a size runs only if 1.3 x its extrapolated peak memory is available
STANDALONE_IMPORTS = ("pandas", "sklearn.ensemble", "matplotlib.figure", "luigi", "mlflow",
                      "mlflow.store.tracking.sqlalchemy_store", "git")


@dataclass
class Settings:
    """What to measure and where; see ``parse_args`` for the meaning of each field."""

    data_dir: Path
    out: Path
    sizes: list[int]
    repeats: int
    scale_repeats: int
    lookup_runs: list[int]
    lookup_calls: int
    client_rate_runs: int
    dry_runs: int
    scale_set: list[str]
    sections: list[str]
    work: Path
    keep: bool
    source: Path | None = None
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.out.parent / "logs"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- 1. Titanic --------------------------------------------------------------------------------

def bench_titanic(s: Settings) -> dict[str, Any]:
    """The shipped default experiment: gradient boosting, 5-fold CV, a submission."""
    return bench_workload(s, "titanic", None, TASKS)


def bench_seed(s: Settings) -> dict[str, Any]:
    """The seed article's small experiment (bench/seed.toml): startup-bound."""
    return bench_workload(s, "seed", SEED_CONFIG, ("Preprocessor", "Trainer", "Prediction"))


def bench_workload(s: Settings, name: str, config: Path | None, tasks: tuple[str, ...]
                   ) -> dict[str, Any]:
    """Interleaved repeats of the plain script and the three runner runs on the real data."""
    samples: dict[str, list[Sample]] = {kind: [] for kind in TITANIC_KINDS}
    checks: dict[str, Any] = {}
    for repeat in range(s.repeats):
        say(f"{name}: repeat {repeat + 1}/{s.repeats}")
        out = s.work / f"{name}-plain-{repeat}"
        plain = harness.plain_cmd(s.data_dir, out, source=s.source, config=config)
        samples["plain"].append(measure(plain, s.work, log=s.logs / f"{name}-plain.log"))
        project = harness.make_project(s.work / f"{name}-{repeat}", s.data_dir, source=s.source)
        if config is not None:
            shutil.copy(config, project / "luigi.toml")
        for kind, args in (("runner_first", []), ("runner_reused", []),
                           ("runner_full", ["--no-reuse"])):
            log = s.logs / f"{name}-{kind}.log"
            samples[kind].append(measure(harness.runner_cmd(*args), project, log=log))
            if kind == "runner_reused":
                checks["rerun_reused_all"] = count_reused(log) == len(tasks)
        if repeat == 0:
            checks["same_outputs_as_plain"] = same_outputs(project, out)
        cleanup(s, project, out)
    return with_ratios(samples) | {"rows": 891, "repeats": s.repeats, "checks": checks}


def with_ratios(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    """Median summaries, each with its wall-time and peak-memory ratio to ``plain``."""
    summaries = {kind: summarise(found) for kind, found in samples.items()}
    plain = summaries["plain"]
    return {kind: summary.to_json() | {"time_ratio": round(summary.wall_s / plain.wall_s, 3),
                                       "memory_ratio": round(summary.peak_mib / plain.peak_mib, 3)}
            for kind, summary in summaries.items()}


def count_reused(log: Path) -> int:
    """How many tasks the plan printed in ``log`` reuses."""
    plan = (line.split() for line in log.read_text().splitlines())
    return sum(1 for parts in plan if parts[:1] and parts[0] in TASKS and parts[1:2] == ["reuse"])


def same_outputs(project: Path, plain_out: Path) -> bool:
    """True when the runner's metrics.json and submission.csv equal the plain script's."""
    pairs = (("Evaluator", "metrics.json"), ("Prediction", "submission.csv"))
    for task, name in pairs:
        if not (plain_out / name).exists() and task == "Evaluator":
            continue  # an experiment without cross-validation (the seed's)
        found = sorted(project.glob(f"mlruns/*/*/artifacts/{task}/{name}"))
        if not found or found[0].read_bytes() != (plain_out / name).read_bytes():
            return False
    return True


def cleanup(s: Settings, *paths: Path) -> None:
    if not s.keep:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


# --- 2. Scale ----------------------------------------------------------------------------------

def bench_scale(s: Settings) -> dict[str, Any]:
    """Runner (full run, existing store) versus the plain script at each size."""
    results: dict[str, Any] = {"overrides": s.scale_set, "repeats": s.scale_repeats, "sizes": {}}
    for rows in s.sizes:
        skip = memory_shortfall(results["sizes"], rows)
        if skip:
            say(f"scale: skipping {rows:,} rows: {skip}")
            results["sizes"][str(rows)] = {"skipped": skip}
            continue
        results["sizes"][str(rows)] = bench_size(s, rows)
    results["growth"] = growth(results["sizes"])
    return results


def bench_size(s: Settings, rows: int) -> dict[str, Any]:
    data = s.work / f"data-{rows}"
    started = time.perf_counter()
    measure([PYTHON, str(REPO / "bench" / "synth.py"), "--rows", str(rows), "--out", str(data)],
            s.work, log=s.logs / "synth.log")
    generated = time.perf_counter() - started
    samples: dict[str, list[Sample]] = {"plain": [], "runner": []}
    same = None
    for repeat in range(s.scale_repeats):
        say(f"scale: {rows:,} rows, repeat {repeat + 1}/{s.scale_repeats}")
        out = s.work / f"scale-plain-{rows}-{repeat}"
        plain = harness.plain_cmd(data, out, s.scale_set, s.source)
        samples["plain"].append(measure(plain, s.work, log=s.logs / f"scale-plain-{rows}.log"))
        project = harness.make_project(s.work / f"scale-{rows}-{repeat}", data, source=s.source)
        # The store exists before the measured run, as it does for anyone past their first run.
        measure(harness.runner_cmd("--dry-run"), project, log=s.logs / "scale-dry-run.log")
        samples["runner"].append(measure(
            harness.runner_cmd(*harness.runner_sets(s.scale_set)), project,
            log=s.logs / f"scale-runner-{rows}.log"))
        if repeat == 0:
            same = same_outputs(project, out)
        cleanup(s, project, out)
    cleanup(s, data)
    return with_ratios(samples) | {"test_rows": synth.test_rows(rows),
                                   "generate_s": round(generated, 1),
                                   "checks": {"same_outputs_as_plain": same}}


def memory_shortfall(done: dict[str, Any], rows: int) -> str:
    """Why ``rows`` cannot run here (extrapolated peak memory > available), or ''."""
    measured = [(int(size), max(result["plain"]["peak_mib"], result["runner"]["peak_mib"]))
                for size, result in done.items() if "runner" in result]
    if not measured or rows <= max(size for size, _ in measured):
        return ""
    size, peak = max(measured)
    needed = peak * rows / size * MEMORY_HEADROOM
    available = available_mib()
    if available and needed > available:
        return f"needs about {needed / 1024:.1f} GiB, {available / 1024:.1f} GiB available"
    return ""


def available_mib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def growth(sizes: dict[str, Any]) -> dict[str, Any]:
    """Growth factors between consecutive measured sizes, against linear growth."""
    measured = sorted((int(size), result) for size, result in sizes.items() if "runner" in result)
    steps = {}
    for (small, a), (large, b) in itertools.pairwise(measured):
        steps[f"{small}->{large}"] = {
            "linear": round(large / small, 2),
            **{f"{side}_{metric}": round(b[side][key] / a[side][key], 2)
               for side in ("runner", "plain")
               for metric, key in (("time", "wall_s"), ("memory", "peak_mib"))}}
    return steps


# --- 3. Lookup ---------------------------------------------------------------------------------

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


# --- 4. Profile --------------------------------------------------------------------------------

def bench_profile(s: Settings) -> dict[str, Any]:
    """Wall-clock phases and imports (-X importtime) of a first and a reused run."""
    say("profile: phases and imports")
    phases = harness.make_project(s.work / "profile-phases", s.data_dir, source=s.source)
    imports = harness.make_project(s.work / "profile-imports", s.data_dir, source=s.source)
    plain_out = s.work / "profile-plain"
    result = {
        "first_run": profiling.phase_profile(phases, [], s.logs / "phases-first"),
        "reused_run": profiling.phase_profile(phases, [], s.logs / "phases-reused"),
        "full_run_existing_store": profiling.phase_profile(phases, ["--no-reuse"],
                                                           s.logs / "phases-full"),
        "imports_first_run": profiling.import_profile(
            harness.runner_cmd(), imports, s.logs / "importtime-first.txt"),
        "imports_reused_run": profiling.import_profile(
            harness.runner_cmd(), imports, s.logs / "importtime-reused.txt"),
        "imports_plain": profiling.import_profile(
            harness.plain_cmd(s.data_dir, plain_out, source=s.source), s.work,
            s.logs / "importtime-plain.txt"),
        "standalone_import_s": standalone_imports(s),
    }
    cleanup(s, phases, imports, plain_out)
    return result


def standalone_imports(s: Settings) -> dict[str, float]:
    """Median wall seconds of ``python -c "import X"`` for each library (interpreter start
    included, reported as ``python``)."""
    found = {}
    for module in ("", *STANDALONE_IMPORTS):
        code = f"import {module}" if module else "pass"
        walls = [measure([PYTHON, "-c", code], s.work).wall_s for _ in range(3)]
        found[module or "python"] = round(statistics.median(walls), 3)
    return found


# --- the report --------------------------------------------------------------------------------

def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: measured value, limit, met or not (absent sections skipped)."""
    found: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float) -> None:
        if value is not None:
            found.append({"target": name, "value": value, "limit": limit, "met": value <= limit})

    titanic = results.get("titanic")
    if titanic:
        add("Titanic first full run (fresh store) / plain, wall",
            titanic["runner_first"]["time_ratio"], TARGETS["titanic_first"])
        add("Titanic full run (existing store) / plain, wall",
            titanic["runner_full"]["time_ratio"], TARGETS["titanic_full"])
        add("Titanic reused rerun / plain, wall", titanic["runner_reused"]["time_ratio"],
            TARGETS["titanic_reused"])
        add("Titanic reused rerun / plain, peak memory",
            titanic["runner_reused"]["memory_ratio"], TARGETS["reused_memory"])
    seed = results.get("seed")
    if seed:
        add("seed experiment full run (existing store) / plain, wall",
            seed["runner_full"]["time_ratio"], TARGETS["seed_full"])
        add("seed experiment reused rerun / plain, wall", seed["runner_reused"]["time_ratio"],
            TARGETS["seed_reused"])
    at_million = results.get("scale", {}).get("sizes", {}).get(str(GROWTH_TO), {})
    if "runner" in at_million:
        add("1M rows runner / plain, wall", at_million["runner"]["time_ratio"],
            TARGETS["scale_time"])
        add("1M rows runner / plain, peak memory", at_million["runner"]["memory_ratio"],
            TARGETS["scale_memory"])
        step = results["scale"]["growth"].get(f"{GROWTH_FROM}->{GROWTH_TO}")
        if step:
            add("runner growth 100k->1M, wall (linear = 10)", step["runner_time"], step["linear"])
            add("runner growth 100k->1M, memory (linear = 10)", step["runner_memory"],
                step["linear"])
    levels = results.get("lookup", {}).get("levels", {})
    for runs, limit in (("10000", TARGETS["lookup_ms_10k"]), ("100000", TARGETS["lookup_ms_100k"])):
        if runs in levels:
            add(f"reuse lookup per task at {int(runs):,} runs, ms (worst task)",
                max(task["hit_ms"] for task in levels[runs]["tasks"].values()), limit)
    return found


def render(results: dict[str, Any]) -> str:
    """The markdown tables printed at the end (and pasted into the README)."""
    parts = [render_titanic(results.get("titanic")),
             render_titanic(results.get("seed"), "Seed article's experiment (bench/seed.toml)"),
             render_scale(results.get("scale")),
             render_lookup(results.get("lookup")), render_profile(results.get("profile")),
             render_targets(results["targets"])]
    return "\n\n".join(part for part in parts if part)


def render_titanic(titanic: dict[str, Any] | None, title: str = "Titanic, default experiment"
                   ) -> str:
    if not titanic:
        return ""
    lines = [f"{title}, 891 rows, median of {titanic['repeats']}",
             "", "| | wall s | vs plain | peak MiB | vs plain |", "|---|---:|---:|---:|---:|"]
    for kind, label in TITANIC_KINDS.items():
        row = titanic[kind]
        lines.append(f"| {label} | {row['wall_s']:.2f} | {row['time_ratio']:.2f}x | "
                     f"{row['peak_mib']:.0f} | {row['memory_ratio']:.2f}x |")
    return "\n".join(lines)


def render_scale(scale: dict[str, Any] | None) -> str:
    if not scale:
        return ""
    lines = [f"Scale, synthetic data, median of {scale['repeats']}, both sides with "
             f"{'; '.join(scale['overrides']) or 'the default config'}", "",
             "| train rows | plain s | runner s | vs plain | plain MiB | runner MiB | vs plain |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for size, row in scale["sizes"].items():
        if "runner" not in row:
            lines.append(f"| {int(size):,} | skipped: {row['skipped']} | | | | | |")
            continue
        plain, runner = row["plain"], row["runner"]
        lines.append(f"| {int(size):,} | {plain['wall_s']:.1f} | {runner['wall_s']:.1f} | "
                     f"{runner['time_ratio']:.2f}x | {plain['peak_mib']:.0f} | "
                     f"{runner['peak_mib']:.0f} | {runner['memory_ratio']:.2f}x |")
    for step, row in scale["growth"].items():
        small, large = (f"{int(n):,}" for n in step.split("->"))
        lines.append(f"\nGrowth {small} -> {large} rows (linear x{row['linear']:g}): runner "
                     f"time x{row['runner_time']}, memory x{row['runner_memory']}; plain time "
                     f"x{row['plain_time']}, memory x{row['plain_memory']}")
    return "\n".join(lines)


def render_lookup(found: dict[str, Any] | None) -> str:
    if not found:
        return ""
    lines = ["Reuse lookup, ms per task (median of warm calls; worst task), and the whole "
             "--dry-run", "",
             "| runs in store | find, hit | find, first call | find, miss | latest | "
             "store open | dry-run s |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for runs, level in found["levels"].items():
        tasks = level["tasks"].values()
        worst = {key: max(task[key] for task in tasks)
                 for key in ("hit_ms", "hit_first_ms", "miss_ms", "latest_ms")}
        lines.append(f"| {int(runs):,} | {worst['hit_ms']:.1f} | {worst['hit_first_ms']:.1f} | "
                     f"{worst['miss_ms']:.1f} | {worst['latest_ms']:.1f} | "
                     f"{level['store_open_ms']:.0f} | {level['dry_run']['wall_s']:.2f} |")
    lines.append(f"\nCreating a runner-like run through MlflowClient: "
                 f"{found['client_create_ms_per_run']:.1f} ms (the bench clones rows with SQL)")
    return "\n".join(lines)


def render_profile(profile: dict[str, Any] | None) -> str:
    if not profile:
        return ""
    runs = ("first_run", "full_run_existing_store", "reused_run")
    labels: list[str] = []
    for run in runs:
        labels += [label for label in profile[run]["phases_s"] if label not in labels]
    lines = ["Where the time goes (wall clock, one run each; nested phases are indented and "
             "included in their parent)", "",
             "| phase | first run, fresh store s | full run, existing store s | reused rerun s |",
             "|---|---:|---:|---:|"]
    for label in [*labels, "startup_and_exit_s", "wall_s"]:
        cells = [profile[run]["phases_s"].get(label, profile[run].get(label)) for run in runs]
        shown = "· " * ((len(label) - len(label.lstrip())) // 2) + label.strip()
        lines.append(f"| {shown} | " + " | ".join("" if c is None else f"{c:.3f}" for c in cells)
                     + " |")
    imports = {name: profile[name] for name in ("imports_plain", "imports_first_run",
                                                "imports_reused_run")}
    lines.append("\nImport time (ms, -X importtime self time by package): " + "; ".join(
        f"{name.removeprefix('imports_')} {found['total_ms']} "
        f"({', '.join(f'{k} {v}' for k, v in list(found['by_package_ms'].items())[:6])})"
        for name, found in imports.items()))
    lines.append("Standalone `python -c 'import X'` (s): " + ", ".join(
        f"{name} {seconds:.2f}" for name, seconds in profile["standalone_import_s"].items()))
    return "\n".join(lines)


def render_targets(found: list[dict[str, Any]]) -> str:
    if not found:
        return ""
    lines = ["| target | measured | limit | met |", "|---|---:|---:|---|"]
    lines += [f"| {t['target']} | {t['value']:g} | {t['limit']:g} | "
              f"{'yes' if t['met'] else 'NO'} |" for t in found]
    return "\n".join(lines)


def snapshot(source: Path, destination: Path) -> Path:
    """A copy of ``source`` (without bytecode) that every command of this run uses."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def tree_digest(folder: Path) -> str:
    """Short SHA-256 over the relative paths and bytes of every file below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    from importlib import metadata

    versions = {name: metadata.version(name) for name in
                ("mlflow", "luigi", "pandas", "scikit-learn", "numpy", "pyarrow")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True, check=False).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "src", "luigi.toml"], cwd=REPO,
                             capture_output=True, text=True, check=False).stdout.split("\n")
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "memory_gib": round(total_mib() / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": os.getloadavg(),
            "commit": commit, "uncommitted_src_files": [line[3:] for line in changed if line],
            "versions": versions}


def total_mib() -> float:
    try:
        return int(Path("/proc/meminfo").read_text().split()[1]) / 1024
    except (OSError, IndexError, ValueError):
        return 0.0


# --- command line ------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "titanic": bench_titanic, "seed": bench_seed, "scale": bench_scale, "lookup": bench_lookup,
    "profile": bench_profile,
}


def int_list(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "TITANIC_DATA_DIR", REPO / "input")), help="folder with Kaggle's train.csv and "
        "test.csv (default: $TITANIC_DATA_DIR, else ./input)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    parser.add_argument("--sizes", type=int_list, default=[10_000, 100_000, 1_000_000],
                        help="synthetic training rows, e.g. 10000,100000,1000000,10000000")
    parser.add_argument("--repeats", type=int, default=5, help="Titanic repeats (median)")
    parser.add_argument("--scale-repeats", type=int, default=3, help="repeats per size")
    parser.add_argument("--lookup-runs", type=int_list, default=[1_000, 10_000])
    parser.add_argument("--lookup-calls", type=int, default=30, help="calls per lookup median")
    parser.add_argument("--scale-set", action="append", default=None, metavar="Section.key=V",
                        help=f"override for both sides at scale (default: {DEFAULT_SCALE_SET})")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {', '.join(SECTIONS)}")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for project copies and data (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep project copies and data")
    parser.add_argument("--src", type=Path, default=None,
                        help="measure this src/ folder instead of the repository's (A/B runs)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke-test sizes: 1 repeat, 1,000 rows, 50 runs, no profile")
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}")
    if args.quick:
        args.repeats, args.scale_repeats, args.sizes = 1, 1, [1_000]
        args.lookup_runs, args.lookup_calls = [50], 5
        sections = [name for name in sections if name != "profile"]
    for name in harness.RAW_FILES:
        if not (args.data / name).is_file():
            parser.error(f"--data {args.data} has no {name}; point it (or TITANIC_DATA_DIR) "
                         "at the folder with Kaggle's train.csv and test.csv")
    return Settings(
        data_dir=args.data.resolve(), out=args.out.resolve(), sizes=args.sizes,
        repeats=args.repeats, scale_repeats=args.scale_repeats, lookup_runs=args.lookup_runs,
        lookup_calls=args.lookup_calls, client_rate_runs=10 if args.quick else 100,
        dry_runs=1 if args.quick else 3,
        scale_set=list(args.scale_set) if args.scale_set is not None else [DEFAULT_SCALE_SET],
        sections=sections, work=harness.scratch_dir(args.work, "bench-"), keep=args.keep,
        source=args.src.resolve() if args.src else None)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    settings.logs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "settings": {
        "sizes": settings.sizes, "repeats": settings.repeats,
        "scale_repeats": settings.scale_repeats, "lookup_runs": settings.lookup_runs,
        "scale_set": settings.scale_set, "data": str(settings.data_dir)}}
    try:
        # One snapshot of src/ for the whole invocation: edits made meanwhile do not leak in.
        settings.source = snapshot(settings.source or REPO / "src", settings.work / "src")
        harness.CONFIG[0] = Path(shutil.copy2(REPO / "luigi.toml", settings.work / "luigi.toml"))
        results["machine"]["src_digest"] = tree_digest(settings.source)
        say("warm-up: one unmeasured plain run (loads the libraries into the page cache)")
        measure(harness.plain_cmd(settings.data_dir, settings.work / "warm-up"), settings.work,
                log=settings.logs / "warm-up.log")
        for name in settings.sections:
            results[name] = SECTIONS[name](settings)
    finally:
        cleanup(settings, settings.work)
    results["targets"] = targets(results)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    settings.out.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\n{settings.out} written in {results['bench_seconds']:.0f} s "
          f"(logs in {settings.logs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
