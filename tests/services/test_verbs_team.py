"""The verbs against a team server (PostgreSQL behind `mlflow server` with proxied
artifacts): `runs`, `diff`, `gc --dry-run` and a real `gc` through the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.project import SEED_CONFIG
from support.servers import postgres_database, running_team_server
from support.team import make_machine, require_postgres


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    require_postgres()
    home = tmp_path_factory.mktemp("team-verbs")
    (home / "server").mkdir()
    with postgres_database() as database, running_team_server(
            home / "server", database, home / "server" / "artifacts") as url:
        yield make_machine(home / "a", titanic_dir, url, SEED_CONFIG), home / "server"


def runs_json(machine) -> list[dict]:
    result = machine.run("runs", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_runs_diff_and_gc_through_the_server(machine):
    machine, server = machine
    for seed in ("0", "1"):
        made = machine.run("--set", f"Trainer.seed={seed}")
        assert made.returncode == 0, made.stdout + made.stderr
    newer, older = runs_json(machine)
    assert newer["reused"] == "Preprocessor" and older["reused"] == ""
    assert (newer["Trainer.seed"], older["Trainer.seed"]) == ("1", "0")

    diff = machine.run("diff", older["run_id"], newer["run_id"], "--format", "json")
    assert diff.returncode == 0, diff.stderr
    tasks = {t["task"]: t for t in json.loads(diff.stdout)["tasks"]}
    assert tasks["Trainer"]["why"] == ["parameter Trainer.seed 0 -> 1"]
    assert tasks["Preprocessor"]["same"]

    dry = machine.run("gc", "--keep-last", "1", "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["collected"] == []  # the newer run reuses the older one's Preprocessor
    assert report["kept_because_needed"][older["run_id"]].endswith(
        "uses its output of Preprocessor")

    changed = machine.run("--set", "Trainer.seed=2", "--set", "Preprocessor.scale_numeric=true")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    report = json.loads(machine.run("gc", "--keep-last", "1", "--dry-run", "--format",
                                    "json").stdout)
    going = {row["run_id"]: row["bytes"] for row in report["collected"]}
    assert set(going) == {older["run_id"], newer["run_id"]}
    assert all(size > 10_000 for size in going.values())  # sized through the server

    artifacts = server / "artifacts"

    def files_of(run_id: str) -> list[Path]:
        return [path for path in artifacts.rglob("*") if run_id in path.parts and path.is_file()]

    assert files_of(older["run_id"])
    real = machine.run("gc", "--keep-last", "1")
    assert real.returncode == 0, real.stdout + real.stderr
    assert "mlflow gc" in real.stdout  # the server keeps deleted runs' metadata
    assert len(runs_json(machine)) == 1
    assert files_of(older["run_id"]) == [] and files_of(newer["run_id"]) == []
