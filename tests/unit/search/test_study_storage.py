"""Opening a study storage: processes creating one new sqlite storage together all get it
(Optuna creates its tables and stamps its schema version without a lock, so the losers of that
race must open it again, not fail), and only such a race is tried again.

Real processes, released together by a barrier, on a real sqlite file; the same on
PostgreSQL is in tests/services/test_study_server.py."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import sqlalchemy.exc

from framework.core.errors import UserError
from framework.search import storage
from support.races import race

PROCESSES = 6
ROUNDS = 2  # a fresh storage each round: the race is lost at random


def test_processes_creating_one_sqlite_storage_together_all_open_it(tmp_path: Path):
    # Opened once here first, so that every module opening one needs is loaded before the
    # fork: the processes then race on the creation itself, not on their imports.
    storage.open_storage(f"sqlite:///{tmp_path / 'warm' / storage.STORAGE_FILE}")
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / str(round_) / storage.STORAGE_FILE}"
        assert race(partial(storage.open_storage, url), PROCESSES) == ["ok"] * PROCESSES


def test_an_unreachable_storage_is_one_error_at_once(monkeypatch: pytest.MonkeyPatch):
    def no_retry(seconds: float) -> None:
        raise AssertionError("an unreachable storage was tried again")

    monkeypatch.setattr(storage.time, "sleep", no_retry)
    with pytest.raises(UserError, match="fix RUNNER_STUDY_STORAGE"):
        storage.open_storage("postgresql+psycopg://postgres@127.0.0.1:1/none")


def database_error(kind: type[sqlalchemy.exc.DBAPIError], message: str) -> Exception:
    return kind(statement="", params=None, orig=Exception(message))


@pytest.mark.parametrize(("error", "race_lost"), [
    (database_error(sqlalchemy.exc.IntegrityError,
                    "UNIQUE constraint failed: alembic_version.version_num"), True),
    (database_error(sqlalchemy.exc.OperationalError, "table studies already exists"), True),
    (database_error(sqlalchemy.exc.ProgrammingError, 'relation "studies" already exists'), True),
    (database_error(sqlalchemy.exc.OperationalError, 'database "optuna" does not exist'), False),
    (database_error(sqlalchemy.exc.OperationalError, "attempt to write a readonly database"),
     False),
    (database_error(sqlalchemy.exc.OperationalError, "password authentication failed"), False),
    (RuntimeError("The runtime optuna version 4.0 is no longer compatible"), False),
    (ImportError("No module named 'psycopg2'"), False),
], ids=["unique key", "sqlite table", "postgres table", "no database", "read-only",
        "password", "newer schema", "no driver"])
def test_only_a_lost_creation_race_is_tried_again(error: Exception, race_lost: bool):
    assert storage.lost_creation_race(error) is race_lost
