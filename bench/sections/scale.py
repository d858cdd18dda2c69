"""Section ``scale``: the runner next to the plain script on synthetic data of growing size.

For each of ``--sizes`` training rows, bench/synth.py writes Titanic-shaped data; then, in
``--scale-repeats`` interleaved repeats, the plain script and the runner (a full run in an
existing, empty store) run with the same ``--scale-set`` overrides (default: 20 trees instead
of 200, so a million rows take minutes). Reports wall time and peak memory with their ratios
to the plain script, the growth factor between consecutive sizes against linear growth, and
checks that both sides wrote the same outputs. A size whose extrapolated peak memory does not
fit in the available memory is skipped and says so.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import harness
import synth
from harness import PYTHON, REPO, Sample, measure
from sections.common import Settings, cleanup, same_outputs, say, with_ratios

DEFAULT_SCALE_SET = ("Trainer.estimator_params={n_estimators = 20, max_depth = 3, "
                     "learning_rate = 0.05, subsample = 0.8}")
GROWTH_FROM, GROWTH_TO = 100_000, 1_000_000
MEMORY_HEADROOM = 1.3  # a size runs only if 1.3 x its extrapolated peak memory is available


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


def render_scale(scale: dict[str, Any] | None) -> str:
    """The table of sizes and the growth lines, or '' when the section was not measured."""
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
