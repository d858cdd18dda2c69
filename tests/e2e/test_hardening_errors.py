"""Broken stores, configs and options: one line, exit 2 (1 once a run is open), no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from support.project import Project, one_line_error, use_probes

Setup = Callable[[Project], tuple[list[str], dict[str, str]]]


def corrupt_store(project: Project) -> tuple[list[str], dict[str, str]]:
    (project.root / "mlruns" / "mlflow.db").write_bytes(b"SQLite format 3\0" + b"\x13" * 4000)
    return [], {}


def truncated_store(project: Project) -> tuple[list[str], dict[str, str]]:
    from mlflow.tracking import MlflowClient

    database = project.root / "mlruns" / "mlflow.db"
    MlflowClient(project.tracking_uri).search_experiments()  # a real, migrated store
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 3])
    return [], {}


def lock_is_a_folder(project: Project) -> tuple[list[str], dict[str, str]]:
    (project.root / "mlruns" / "mlflow.db.lock").mkdir()
    return [], {}


def mlruns_is_a_file(project: Project) -> tuple[list[str], dict[str, str]]:
    shutil.rmtree(project.root / "mlruns")
    (project.root / "mlruns").write_text("not a folder")
    return [], {}


def deeply_nested(project: Project) -> tuple[list[str], dict[str, str]]:
    project.write_config("[RunConfig]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    return [], {}


def not_utf8(project: Project) -> tuple[list[str], dict[str, str]]:
    (project.root / "luigi.toml").write_bytes('[RunConfig]\ndescription = "café"\n'
                                              .encode("latin-1"))
    return [], {}


def binary(project: Project) -> tuple[list[str], dict[str, str]]:
    (project.root / "luigi.toml").write_bytes(bytes(range(256)) * 4)
    return [], {}


def long_name(project: Project) -> tuple[list[str], dict[str, str]]:
    return ["--set", f'RunConfig.experiment_name="{"x" * 600}"'], {}


def env(**variables: str) -> Setup:
    return lambda project: ([], variables)


def args(*given: str) -> Setup:
    return lambda project: (list(given), {})


CASES: dict[str, tuple[Setup, str]] = {
    "corrupt mlflow.db": (corrupt_store, "mlflow.db"),
    "truncated mlflow.db": (truncated_store, "mlflow.db"),
    "mlflow.db.lock is a folder": (lock_is_a_folder, "mlflow.db.lock is a folder"),
    "mlruns is a file": (mlruns_is_a_file, "a file has its name"),
    "unsupported URI scheme": (env(MLFLOW_TRACKING_URI="foo://bob:pw-x1y2z3@host/x"),
                               "cannot be used"),
    "config nested thousands deep": (deeply_nested, "nested too deeply"),
    "config not UTF-8": (not_utf8, "not UTF-8"),
    "binary config": (binary, "luigi.toml"),
    "--config names a folder": (args("--config", "src"), "is a folder"),
    "experiment name over 500": (long_name, "at most 500"),
    "[core] workers not a number": (args("--set", 'core.workers="abc"'), "[core] workers"),
    "scheduler URL not HTTP": (args("--scheduler-url", "file:///etc/passwd"), "http(s)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_store_config_or_option_is_one_line_and_exit_2(project: Project, case: str):
    setup, expected = CASES[case]
    extra_args, variables = setup(project)
    result = project.run(*extra_args, **variables)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert expected in line
    assert "pw-x1y2z3" not in line  # a URI's password is never printed


def test_an_unreachable_server_fails_in_seconds_even_for_a_dry_run(project: Project):
    started = time.monotonic()
    result = project.run("--dry-run", MLFLOW_TRACKING_URI="http://bob:pw-x1y2z3@127.0.0.1:1")
    assert time.monotonic() - started < 20
    assert result.returncode == 2
    line = one_line_error(result)
    assert "no MLflow server answers" in line
    assert "http://bob:***@127.0.0.1:1" in line


HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_locked_store_is_waited_for_then_named_with_its_holder(project: Project):
    from mlflow.tracking import MlflowClient

    MlflowClient(project.tracking_uri).search_experiments()  # create the store
    holder = subprocess.Popen([sys.executable, "-c", HOLDER,
                               str(project.root / "mlruns" / "mlflow.db")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = project.run("--dry-run", RUNNER_STORE_WAIT="2")
        assert time.monotonic() - started < 15
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert f"locked by pid {holder.pid}" in one_line_error(result)


BREAKER = '''
"""A task that wrecks the tracking store under the open run."""
from pathlib import Path

from framework.task.context import current_run
from framework.task.run_task import RunTask


class Wrecker(RunTask):
    def produce(self, out: Path) -> None:
        database = current_run().tracking_uri.removeprefix("sqlite:///")
        with open(database, "r+b") as handle:
            handle.write(b"this is no longer a database" * 4)
        (out / "done.txt").write_text("done")
'''


def test_a_store_fault_during_a_run_is_one_line_and_exit_1(project: Project):
    project.add_module("wrecker", BREAKER)
    use_probes(project, "Wrecker", modules=("wrecker",))
    result = project.run()
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "tracking store" in lines[0]
