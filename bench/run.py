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
4. profile: import time by package and the phases of a first and a reused run (wall-clock timers).
It prints markdown tables and writes everything, raw samples included, to ``--out``.
Every command runs in a throw-away copy of the project: the user's store is never touched.
Each section lives in its own module under bench/sections/; this file is the command: the
options, the section registry, the targets and the summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
from harness import REPO, measure
from sections.common import Settings, cleanup, say
from sections.profile import bench_profile, render_profile
from sections.scale import DEFAULT_SCALE_SET, GROWTH_FROM, GROWTH_TO, bench_scale, render_scale
from sections.store_lookup import bench_lookup, render_lookup
from sections.titanic import SEED_TITLE, bench_seed, bench_titanic, render_titanic

# The targets of the startup-cost issue (ratios to the plain script, milliseconds).
TARGETS = {"titanic_full": 1.5, "titanic_first": 1.8, "titanic_reused": 0.6,
           "seed_full": 2.5, "seed_reused": 1.5, "reused_memory": 1.0,
           "scale_time": 1.25, "scale_memory": 1.5, "lookup_ms_10k": 5.0, "lookup_ms_100k": 50.0}
SECTIONS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "titanic": bench_titanic, "seed": bench_seed, "scale": bench_scale, "lookup": bench_lookup,
    "profile": bench_profile,
}


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
             render_titanic(results.get("seed"), SEED_TITLE),
             render_scale(results.get("scale")),
             render_lookup(results.get("lookup")), render_profile(results.get("profile")),
             render_targets(results["targets"])]
    return "\n\n".join(part for part in parts if part)


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


# --- command line -----------------------------------------------------------------------------

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
                        help="tiny smoke-test sizes: 1 repeat, 1,000 rows, 50 runs, no profile, "
                             "no warm-up, and the shipped experiment with 20 trees")
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
        source=args.src.resolve() if args.src else None, quick=args.quick)


def experiment_file(settings: Settings) -> Path:
    """The shipped luigi.toml copied into the work folder (``--quick``: with 20 trees, a tenth,
    as the test suite's projects have it), the experiment the workload sections measure."""
    text = (REPO / "luigi.toml").read_text(encoding="utf-8")
    if settings.quick:
        text = text.replace("n_estimators = 200", "n_estimators = 20")
    path = settings.work / "luigi.toml"
    path.write_text(text, encoding="utf-8")
    return path


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
        harness.CONFIG[0] = experiment_file(settings)
        results["machine"]["src_digest"] = tree_digest(settings.source)
        if not settings.quick:  # figures a smoke test makes are not compared
            say("warm-up: one unmeasured plain run (loads the libraries into the page cache)")
            measure(harness.plain_cmd(settings.data_dir, settings.work / "warm-up"),
                    settings.work, log=settings.logs / "warm-up.log")
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
