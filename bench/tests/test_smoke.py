"""Smoke test of the benchmark: ``python bench/run.py --quick`` runs and writes sane JSON.

Not part of the test suite (``testpaths`` is ``tests/``): the suite tests the runner, this
tests a measuring tool, and CI runs it as its own step (``.venv/bin/pytest bench/tests``). It
only checks, on tiny sizes, that the sections it asserts on (seed, scale, lookup) run end to
end against the real Titanic data (``TITANIC_DATA_DIR``) and report positive numbers. The seed
section runs the very code of the titanic section (``sections/titanic.py``
``bench_workload``) on the seed article's small config, so the default experiment's 200-tree
model is not fitted four times here; the profile is left out: it adds runs and nothing to
check. There is no time limit: how long this takes depends on the machine
and on what else runs on it (about a minute on two idle cores), never whether it passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = "seed,scale,lookup"
WORKLOAD_KINDS = ("plain", "runner_first", "runner_full", "runner_reused")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = os.environ.get("TITANIC_DATA_DIR") or str(REPO / "input")
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "LUIGI_CONFIG_PATH", "LUIGI_CONFIG_PARSER")}
    finished = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--sections", SECTIONS, "--data", data,
         "--out", str(out), "--work", str(out.parent / "work")],
        cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "| target |" in finished.stdout
    found: dict[str, Any] = json.loads(out.read_text())
    assert set(SECTIONS.split(",")) <= set(found)
    return found


def positive(summary: dict[str, Any]) -> bool:
    return summary["wall_s"] > 0 and summary["peak_mib"] > 0 and summary["time_ratio"] > 0


@pytest.mark.slow
def test_a_workload_section_compares_the_runner_with_the_plain_script(
        results: dict[str, Any]) -> None:
    workload = results["seed"]
    assert all(positive(workload[kind]) for kind in WORKLOAD_KINDS)
    assert workload["plain"]["time_ratio"] == 1.0
    assert workload["checks"] == {"rerun_reused_all": True, "same_outputs_as_plain": True}


@pytest.mark.slow
def test_scale_section_measures_both_sides_on_synthetic_data(results: dict[str, Any]) -> None:
    sizes = results["scale"]["sizes"]
    assert list(sizes) == ["1000"]
    assert positive(sizes["1000"]["plain"]) and positive(sizes["1000"]["runner"])
    assert sizes["1000"]["checks"]["same_outputs_as_plain"] is True


@pytest.mark.slow
def test_lookup_section_times_every_task(results: dict[str, Any]) -> None:
    levels = results["lookup"]["levels"]
    assert list(levels) == ["1", "50"]
    for level in levels.values():
        assert set(level["tasks"]) == {"Preprocessor", "Trainer", "Evaluator", "Prediction"}
        assert all(task["hit_ms"] > 0 for task in level["tasks"].values())
        assert level["dry_run_reused_all"] is True
    assert results["lookup"]["client_create_ms_per_run"] > 0


@pytest.mark.slow
def test_targets_are_evaluated(results: dict[str, Any]) -> None:
    names = [target["target"] for target in results["targets"]]
    assert any(name.startswith("seed experiment full run") for name in names)
    assert all(isinstance(target["met"], bool) for target in results["targets"])
