"""What every section shares: the settings, progress lines, clean-up and the comparisons.

The comparisons are the bench's contract with the plain script: ratios of medians to the plain
side (``with_ratios``), byte-identical outputs (``same_outputs``) and a rerun that reuses every
task (``count_reused``).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import Sample, summarise

TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")


@dataclass
class Settings:
    """What to measure and where; see ``run.parse_args`` for the meaning of each field."""

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
    quick: bool = False  # a smoke test: no warm-up, and the shipped experiment with 20 trees
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.out.parent / "logs"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cleanup(s: Settings, *paths: Path) -> None:
    if not s.keep:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


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
