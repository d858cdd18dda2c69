"""Which processes count as alive and older than a folder they may have written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework.core.lifeline import start_time, started_before
from framework.core.scratch import PREFIX, remove_orphans


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_start_time_is_when_the_process_started_not_when_it_was_first_looked_up(
        sleeper: subprocess.Popen[bytes]) -> None:
    started = time.time()
    time.sleep(2.5)  # nothing has looked at /proc/<pid> yet
    assert start_time(sleeper.pid) == pytest.approx(started, abs=1.5)
    assert started_before(sleeper.pid, started)
    assert not started_before(sleeper.pid, started - 10)  # a newer process with that pid


def test_a_dead_process_started_nothing(sleeper: subprocess.Popen[bytes]) -> None:
    sleeper.kill()
    sleeper.wait()
    assert not started_before(sleeper.pid, time.time())


def test_a_live_runners_scratch_folder_survives_another_runners_cleanup(
        tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    live = tmp_path / f"{PREFIX}{sleeper.pid}-abc"
    live.mkdir()
    gone = tmp_path / f"{PREFIX}{dead_pid()}-def"
    gone.mkdir()
    time.sleep(2.5)  # older than a second, and the live pid never looked up before
    assert remove_orphans(tmp_path) == [gone]
    assert live.is_dir() and not gone.exists()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    assert not os.path.exists(f"/proc/{process.pid}")
    return process.pid
