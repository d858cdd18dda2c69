"""Section ``profile``: where the runner's time goes, phase by phase and import by import.

Measures one first run (fresh store), one reused rerun and one full run in an existing store
(``--no-reuse``) under bench/phases.py (wall clock of each phase, plus the interpreter's
startup and exit); ``-X importtime`` self time by top-level package for a first run, a reused
run and the plain script; and the median wall time of ``python -c "import X"`` for each heavy
library on its own (bench/profiling.py does the measuring). Skipped by ``--quick``.
"""

from __future__ import annotations

import statistics
from typing import Any

import harness
import profiling
from harness import PYTHON, measure
from sections.common import Settings, cleanup, say

STANDALONE_IMPORTS = ("pandas", "sklearn.ensemble", "matplotlib.figure", "luigi", "mlflow",
                      "mlflow.store.tracking.sqlalchemy_store", "git")


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


def render_profile(profile: dict[str, Any] | None) -> str:
    """The phases table and the import lines, or '' when the section was not measured."""
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
