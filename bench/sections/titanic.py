"""Sections ``titanic`` and ``seed``: the runner next to the plain script on the real data.

Measures, in interleaved repeats (medians of ``--repeats``), wall time and peak memory of the
plain pandas + scikit-learn script (bench/plain.py), the runner's first full run (fresh store),
a fully reused rerun and a full run in an existing store (``--no-reuse``), each as a ratio to
the plain script. ``titanic`` is the shipped default experiment (gradient boosting, 5-fold CV,
a submission); ``seed`` is the seed article's small, startup-bound experiment (bench/seed.toml).
Both check that the rerun reuses every task and that the outputs equal the plain script's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import harness
from harness import REPO, Sample, measure
from sections.common import (
    TASKS,
    Settings,
    cleanup,
    count_reused,
    same_outputs,
    say,
    with_ratios,
)

TITANIC_KINDS = {
    "plain": "plain script (pandas + scikit-learn)",
    "runner_first": "runner, first full run (fresh store)",
    "runner_full": "runner, full run, existing store (--no-reuse)",
    "runner_reused": "runner, fully reused rerun",
}
SEED_CONFIG = REPO / "bench" / "seed.toml"
SEED_TITLE = "Seed article's experiment (bench/seed.toml)"


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


def render_titanic(titanic: dict[str, Any] | None, title: str = "Titanic, default experiment"
                   ) -> str:
    """The table of one workload (``titanic`` or ``seed``), or '' when it was not measured."""
    if not titanic:
        return ""
    lines = [f"{title}, 891 rows, median of {titanic['repeats']}",
             "", "| | wall s | vs plain | peak MiB | vs plain |", "|---|---:|---:|---:|---:|"]
    for kind, label in TITANIC_KINDS.items():
        row = titanic[kind]
        lines.append(f"| {label} | {row['wall_s']:.2f} | {row['time_ratio']:.2f}x | "
                     f"{row['peak_mib']:.0f} | {row['memory_ratio']:.2f}x |")
    return "\n".join(lines)
