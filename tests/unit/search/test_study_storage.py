"""Many processes opening one study storage that does not exist yet (the first command of a
study started on several machines at once) all get it: Optuna creates its tables and stamps
its schema version without a lock, so the losers of that race must retry, not fail.

Real processes, released together by a barrier, on a real sqlite file and a real PostgreSQL
database."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from framework.search import storage
from support.servers import postgres_database
from support.team import require_postgres

PROCESSES = 6
ROUNDS = 2  # a fresh storage each round: the race is lost at random


def _open(url: str, barrier: multiprocessing.synchronize.Barrier,
          results: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        storage.open_storage(url)
        results.put("ok")
    except BaseException as error:  # the test shows whatever a process met
        results.put(f"{type(error).__name__}: {error}")


def race(url: str) -> list[str]:
    """What each of ``PROCESSES`` processes met opening ``url`` at the same moment."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=_open, args=(url, barrier, results))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return outcomes


def test_processes_creating_one_sqlite_storage_together_all_open_it(tmp_path: Path):
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / str(round_) / storage.STORAGE_FILE}"
        assert race(url) == ["ok"] * PROCESSES


def test_processes_creating_one_postgres_storage_together_all_open_it():
    require_postgres()
    for _ in range(ROUNDS):
        with postgres_database("runner_study_race") as url:
            assert race(url.replace("postgresql://", "postgresql+psycopg://")) == \
                ["ok"] * PROCESSES


def test_an_unreachable_storage_is_still_one_error_at_once():
    with pytest.raises(storage.UserError, match="fix RUNNER_STUDY_STORAGE"):
        storage.open_storage("postgresql+psycopg://postgres@127.0.0.1:1/none")
