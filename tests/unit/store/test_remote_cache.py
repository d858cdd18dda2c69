"""The local cache of remote outputs: its size limit and least-recently-used eviction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from framework.core.errors import UserError
from framework.store import remote_outputs as remote


def entry(root: Path, run: str, task: str, size: int, used_at: float) -> Path:
    folder = root / "mlruns" / "cache" / run / task
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"x" * size)
    os.utime(folder, (used_at, used_at))
    return folder


def test_the_least_recently_used_entries_go_first_and_entries_in_use_stay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    oldest = entry(tmp_path, "r1", "Trainer", 400, 1_000)
    in_use = entry(tmp_path, "r2", "Trainer", 400, 2_000)
    newer = entry(tmp_path, "r3", "Prediction", 400, 3_000)
    newest = entry(tmp_path, "r3", "Evaluator", 400, 4_000)
    staging = tmp_path / "mlruns" / "cache" / ".staging-999999999-abc"  # a dead pid's
    staging.mkdir()
    monkeypatch.setattr(remote, "_in_use", {in_use})
    removed = remote.evict(1000)
    assert removed == [oldest, newer]
    assert in_use.is_dir() and newest.is_dir() and not staging.exists()
    assert not (tmp_path / "mlruns" / "cache" / "r1").exists()  # the empty run folder too


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(remote.CACHE_ENV, "1.5")
    assert remote.cache_limit() == int(1.5 * 1024 * 1024)
    monkeypatch.delenv(remote.CACHE_ENV)
    assert remote.cache_limit() == remote.DEFAULT_CACHE_MB * 1024 * 1024
    monkeypatch.setenv(remote.CACHE_ENV, "lots")
    with pytest.raises(UserError, match="RUNNER_CACHE_MB='lots'"):
        remote.cache_limit()
