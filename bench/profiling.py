"""Where the runner's time goes: phases of a run, import time by package, interpreter exit.

- ``phase_profile`` runs the runner through bench/phases.py, which times the functions that
  make up a run (wall clock, a few microseconds of overhead per call); the command's own wall
  time is measured outside, so ``startup and exit`` is what the interpreter spends before
  ``main`` and after it (module teardown: about a second for the runner, see README);
- ``import_profile`` runs a command under ``python -X importtime`` and adds every module's
  *self* time to its top-level package, so the figures add up to the whole import time without
  double counting.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness import PYTHON, REPO, child_env, measure

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
TOP_PACKAGES = 14


def phase_profile(project: Path, args: list[str], out: Path) -> dict[str, Any]:
    """Wall seconds of each phase of ``python src/runner.py ARGS`` run in ``project``."""
    report = out.with_suffix(".json")
    sample = measure([PYTHON, str(REPO / "bench" / "phases.py"), "--out", str(report), "--",
                      *args], project, log=out.with_suffix(".log"))
    phases = json.loads(report.read_text())
    return {"wall_s": round(sample.wall_s, 3), "peak_mib": round(sample.peak_mib, 1),
            "startup_and_exit_s": round(sample.wall_s - phases["in_process_s"], 3),
            **phases}


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
