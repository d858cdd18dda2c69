"""Forged outputs, escaping pins, and runs or workers left behind by signals and kills."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from framework.outputs.folder import MANIFEST, OutputFolder
from support.project import REPO, Project, copy_project, one_line_error, use_probes


def plan_action(stdout: str, task: str) -> str:
    """The action the printed plan gives ``task`` (run, reuse, pinned, skip)."""
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == task:
            return parts[1]
    raise AssertionError(f"no plan line for {task}:\n{stdout}")


def wait_for_line(process, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        if text in line:
            return
        assert time.monotonic() < deadline, f"never saw {text!r}"
    raise AssertionError(f"the runner ended before {text!r}")


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()  # zombie: gone
    except (ProcessLookupError, FileNotFoundError):
        return False


# --- 2. forged outputs ---------------------------------------------------------------------

def write(folder: OutputFolder, files: dict[str, str]) -> None:
    with folder.writing({"run_id": "r1"}) as staging:
        for name, text in files.items():
            (staging / name).write_text(text)


def test_a_folder_must_match_its_manifest_exactly(tmp_path: Path):
    emptied = OutputFolder(tmp_path / "emptied", "Evaluator")
    write(emptied, {"metrics.json": '{"acc": 0.7}'})
    manifest = json.loads((emptied.path / MANIFEST).read_text())
    (emptied.path / MANIFEST).write_text(json.dumps({**manifest, "files": {}}))
    (emptied.path / "metrics.json").write_text('{"acc": 0.99}')
    assert "not listed" in (emptied.problem() or "")

    extra = OutputFolder(tmp_path / "extra", "Evaluator")
    write(extra, {"metrics.json": "{}"})
    assert extra.exists()
    (extra.path / "planted.pkl").write_text("code")
    assert "planted.pkl is not listed" in (extra.problem() or "")


def test_required_files_are_checked_when_publishing_and_when_verifying(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer", required=("model",))
    with pytest.raises(RuntimeError, match="model"):
        write(folder, {"notes.txt": "no model"})
    assert folder.is_empty()
    write(OutputFolder(folder.path, "Trainer"), {"notes.txt": "no model"})  # made without it
    assert "lacks model" in (folder.problem() or "")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """A project with one finished Scorer run (experiment "probes")."""
    project = copy_project(tmp_path_factory.mktemp("forged") / "project", titanic_dir)
    use_probes(project, "Scorer")
    result = project.run()
    assert result.returncode == 0, result.stderr
    (run,) = project.runs("probes")
    return project, run


def test_a_forged_output_is_neither_reused_nor_accepted_as_a_pin(scored):
    project, run = scored
    assert run.data.tags["manifest.Scorer"]
    assert plan_action(project.run("--dry-run").stdout, "Scorer") == "reuse"
    folder = Path(run.info.artifact_uri) / "Scorer"
    original = {name: (folder / name).read_bytes() for name in ("metrics.json", MANIFEST)}
    try:
        # A careful forger: new metrics, and a manifest whose checksums match them.
        forged = b'{"score": 1.0}'
        manifest = json.loads(original[MANIFEST])
        manifest["files"]["metrics.json"] = {"bytes": len(forged),
                                             "sha256": hashlib.sha256(forged).hexdigest()}
        (folder / "metrics.json").write_bytes(forged)
        (folder / MANIFEST).write_text(json.dumps(manifest))
        assert plan_action(project.run("--dry-run").stdout, "Scorer") == "run"
        pinned = project.run("--dry-run", "--set", f'PathConfig.Scorer="{folder}"')
        assert pinned.returncode == 2
        assert "not the one run" in one_line_error(pinned)
        # A lazy one: an empty file list.
        (folder / MANIFEST).write_text(json.dumps({**manifest, "files": {}}))
        assert plan_action(project.run("--dry-run").stdout, "Scorer") == "run"
    finally:
        for name, data in original.items():
            (folder / name).write_bytes(data)


def test_a_runs_pin_cannot_leave_the_runs_artifacts(scored):
    project, run = scored
    (project.root / "escape").mkdir()  # empty: the task would write there
    result = project.run("--dry-run", "--set",
                         f'PathConfig.Scorer="runs:/{run.info.run_id}/../../../../escape"')
    assert result.returncode == 2
    assert "leads out of that run's artifacts" in one_line_error(result)


# --- 4, 5, 10. signals, kills, orphans -----------------------------------------------------

def test_killed_runners_are_closed_by_a_run_in_another_experiment_and_workers_stop(
        project: Project):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    use_probes(project, "Sleeper", experiment="first")
    in_process = project.start("--set", "Sleeper.seconds=120")
    pid_file = project.root / "worker.pid"
    forked = project.start("--workers", "2", "--set", "Sleeper.seconds=4",
                           "--set", f'Sleeper.pid_file="{pid_file}"')
    wait_for_line(in_process, "Sleeper        running")
    wait_until(pid_file.exists)
    worker = int(pid_file.read_text())
    time.sleep(0.3)
    for process in (in_process, forked):
        process.kill()
        process.wait(timeout=30)
    wait_until(lambda: not alive(worker), timeout=3)  # PR_SET_PDEATHSIG: it stops at once
    time.sleep(4.5)  # past the moment the worker would have finished and published
    orphans = project.runs("first")
    assert [run.info.status for run in orphans] == ["RUNNING", "RUNNING"]
    assert not list((project.root / "mlruns").rglob(f"Sleeper/{MANIFEST}"))
    staging = list((project.root / "mlruns").rglob("Sleeper/.staging-*"))
    assert staging, "the in-process task should have left its staging folder"

    use_probes(project, "Scorer", experiment="second")
    assert project.run().returncode == 0
    assert [run.info.status for run in project.runs("first")] == ["KILLED", "KILLED"]
    assert not [path for path in staging if path.exists()]


SLOW_EXIT = "import atexit\nimport time\n\natexit.register(time.sleep, 10)\n"


def test_a_signal_while_the_process_exits_gives_130_and_no_traceback(project: Project):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    project.add_module("slow_exit", SLOW_EXIT)
    use_probes(project, "Scorer", modules=("probes", "slow_exit"))
    process = project.start()
    wait_for_line(process, "browse:")
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=8) == 130
    assert "Traceback" not in process.stderr.read()
    assert project.runs("probes")[0].info.status == "FINISHED"


def test_closing_survives_a_locked_store_and_a_signal_meanwhile(tmp_path: Path):
    """In-process: the store is locked while the run closes, and SIGTERM arrives then."""
    from mlflow.tracking import MlflowClient

    from framework.core.errors import Interrupted
    from framework.store.tracking import open_store, tracked_run

    database = tmp_path / "mlflow.db"
    client = open_store(f"sqlite:///{database}")

    def lock_and_signal() -> None:
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(2)
        holder.execute("ROLLBACK")
        holder.close()

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    locker = threading.Thread(target=lock_and_signal)
    try:
        with pytest.raises(KeyboardInterrupt), tracked_run(client, "e", "", {}) as run:
            locker.start()
            time.sleep(0.3)  # the lock is held from here on
    finally:
        locker.join()
        signal.signal(signal.SIGTERM, previous)
    assert MlflowClient(f"sqlite:///{database}").get_run(run.run_id).info.status == "FINISHED"


# --- 7. luigid binds to loopback -----------------------------------------------------------

def test_the_readme_luigid_command_binds_to_loopback():
    documentation = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    commands = re.findall(r"`(luigid [^`]*)`", "\n".join(p.read_text() for p in documentation))
    assert commands
    assert all("--address 127.0.0.1" in command for command in commands)
