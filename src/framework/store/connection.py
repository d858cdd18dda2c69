"""Opening the tracking store, and talking to it when it is busy or broken.

Every way a store can be unusable (an unreachable server, an unknown URI scheme, a corrupt or
locked sqlite file, a folder where a file belongs) becomes a one-line ``UserError`` before a
run exists. Once a run is open, ``retrying`` rides out a busy store until a deadline and then
raises a one-line ``StoreError``, so a lock held by another process never leaves a traceback.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import SQLAlchemyError

from framework.core.errors import StoreError, UserError
from framework.core.secrets import redact
from framework.store.uris import sqlite_path

T = TypeVar("T")
WAIT_VARIABLE = "RUNNER_STORE_WAIT"  # seconds to wait for a busy store
DEFAULT_WAIT = 30.0
HEALTH_TIMEOUT = 3.0
PAUSE = 0.25
# What a busy or unreachable store says; anything else is not worth retrying.
TRANSIENT = ("locked", "busy", "connection", "timed out", "temporarily", "max retries")
STORE_ERRORS = (MlflowException, SQLAlchemyError, OSError, ValueError, ImportError)


def store_wait() -> float:
    try:
        return float(os.environ.get(WAIT_VARIABLE, DEFAULT_WAIT))
    except ValueError:
        return DEFAULT_WAIT


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return redact(lines[0] if lines else type(error).__name__)


def open_store(tracking_uri: str) -> MlflowClient:
    """A client whose store is ready to use; ``UserError`` naming the problem otherwise.

    MLflow creates (migrates) a new sqlite store on first use, and two processes doing that
    at once break it; a lock file beside the database lets the first one finish.
    """
    shown = redact(tracking_uri)
    scheme = urlparse(tracking_uri).scheme
    if scheme in ("http", "https"):
        probe_server(tracking_uri)
    database = sqlite_path(tracking_uri)
    if database is None:
        return checked_client(tracking_uri, shown)
    lock_path = Path(f"{database}.lock")
    try:
        with lock_path.open("w") as lock:
            wait_for(lambda: fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB), lock_path)
            if database.is_file():
                wait_for(lambda: probe_sqlite(database), database)
            client = checked_client(tracking_uri, shown)
            tune_sqlite(database)
            return client
    except IsADirectoryError:
        raise UserError(f"{lock_path} is a folder; the runner needs it as a lock file: "
                        "remove it") from None


# Reuse looks outputs up by tag value (``signature.<Task>``); MLflow's own key on tags is
# (key, run_uuid), so without this index every lookup scans that tag of every run.
LOOKUP_INDEX = "runner_tags_key_value"


def tune_sqlite(database: Path) -> None:
    """WAL journal (readers never wait for the writer: parallel workers, runners, the UI) and
    the lookup index. Both are plain SQLite; a store busy elsewhere keeps what it has."""
    connection = sqlite3.connect(database, timeout=PAUSE)
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"CREATE INDEX IF NOT EXISTS {LOOKUP_INDEX} ON tags (key, value)")
        connection.commit()
    except sqlite3.OperationalError:
        pass  # locked by another process right now: the next run tries again
    finally:
        connection.close()


def checked_client(tracking_uri: str, shown: str) -> MlflowClient:
    try:
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)
    except STORE_ERRORS as error:
        raise UserError(f"tracking store {shown} cannot be used ({first_line(error)}); fix "
                        "MLFLOW_TRACKING_URI (sqlite:///mlruns/mlflow.db, http://host:port, "
                        "postgresql://...) or restore the store") from None
    return client


def probe_server(uri: str) -> None:
    """Fail in seconds when no MLflow server answers (MLflow's client retries for minutes)."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=HEALTH_TIMEOUT):
            return
    except urllib.error.HTTPError:
        return  # something answers; the client will say if it is not MLflow
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(f"MLFLOW_TRACKING_URI={redact(uri)}: no MLflow server answers "
                        f"({redact(str(reason))}); start it or fix the URI in .env") from None


def probe_sqlite(database: Path) -> None:
    """Raise ``sqlite3.OperationalError`` while another process holds a write lock;
    ``UserError`` when the file is not an intact sqlite database."""
    connection = sqlite3.connect(database, timeout=PAUSE)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.rollback()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise
        raise UserError(f"{database} is not a usable MLflow store ({error}); restore it from "
                        "a backup or move it away (a new one is created)") from None
    except sqlite3.DatabaseError as error:
        raise UserError(f"{database} is corrupt or not a database ({error}); restore it from "
                        "a backup or move it away (a new one is created)") from None
    finally:
        connection.close()


def wait_for(attempt: Callable[[], None], path: Path) -> None:
    """Retry ``attempt`` while it fails on a lock, up to the deadline; then ``UserError``."""
    deadline = time.monotonic() + store_wait()
    while True:
        try:
            attempt()
            return
        except (BlockingIOError, sqlite3.OperationalError):
            if time.monotonic() > deadline:
                raise UserError(f"{path} is locked by {holders(path)} for more than "
                                f"{store_wait():.0f}s; wait for it to finish or stop it "
                                f"(or set {WAIT_VARIABLE}=SECONDS)") from None
            time.sleep(PAUSE)


def retrying(action: Callable[[], T], what: str, tracking_uri: str,
             lost_race: Callable[[Exception], bool] | None = None) -> T:
    """``action()``, retried while the store is busy or unreachable, up to the deadline, and
    quietly when ``lost_race`` says another writer inserted the same row first (the call's
    transaction was rolled back; made again, it finds that row).

    Raises ``StoreError`` (one line) when it fails for another reason or for too long.
    """
    deadline = time.monotonic() + store_wait()
    warned = False
    while True:
        try:
            return action()
        except STORE_ERRORS as error:
            raced = lost_race is not None and lost_race(error)
            transient = raced or any(word in str(error).lower() for word in TRANSIENT)
            if not transient or time.monotonic() > deadline:
                database = sqlite_path(tracking_uri)
                who = f"; held by {holders(database)}" if database and transient else ""
                raise StoreError(f"{what}: the tracking store {redact(tracking_uri)} failed "
                                 f"({first_line(error)}){who}") from None
            if not warned and not raced:
                print(f"{what}: the tracking store is busy, retrying for up to "
                      f"{store_wait():.0f}s", file=sys.stderr, flush=True)
                warned = True
            time.sleep(PAUSE)


def holders(path: Path) -> str:
    """The other processes holding a lock on ``path`` (from ``/proc/locks``), else those that
    have it or its sqlite journal open, for messages."""
    pids = lock_holders(path) or open_holders(path)
    found = []
    for pid in sorted(pids - {os.getpid()}):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        found.append(f"pid {pid} ({' '.join(command.decode(errors='replace').split())[:60]})")
    return ", ".join(found) or "another process"


def lock_holders(path: Path) -> set[int]:
    """Pids with a write lock on ``path`` or its ``-shm`` file (a rollback-journal store's
    writer, a WAL store's writer), else with any lock on ``path`` (a reader can block a
    rollback-journal writer), from Linux ``/proc/locks``. Every open WAL connection holds
    read locks, so only write locks name the holder there."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    database, shm = _inode(path), _inode(Path(f"{path}-shm"))
    locks = []  # (inode, READ/WRITE, pid) of the locks held (not waited for: "->")
    for line in lines:
        fields = line.split()
        if "->" not in fields and len(fields) > 5:
            locks.append((fields[5].rpartition(":")[2], fields[3], int(fields[4])))
    others = [(inode, kind, pid) for inode, kind, pid in locks
              if pid != os.getpid() and inode in (database, shm) and inode]
    writers = {pid for _, kind, pid in others if kind == "WRITE"}
    return writers or {pid for inode, _, pid in others if inode == database}


def _inode(path: Path) -> str:
    try:
        return str(os.stat(path).st_ino)
    except OSError:
        return ""


def open_holders(path: Path) -> set[int]:
    names = {str(path), f"{path}-journal", f"{path}-wal"}
    pids = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in names for fd in fd_dir.iterdir()):
                pids.add(int(fd_dir.parent.name))
        except OSError:
            continue  # gone, or not ours to look at
    return pids


def fork_safe_connections() -> None:
    """SQLAlchemy's documented recipe for pools and ``os.fork``: a pooled connection opened
    by another process is discarded on checkout, so forked workers never share the parent's
    sqlite connections (MLflow's store keeps a pool)."""
    import os

    from sqlalchemy import event, exc
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(Engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection opened by another process")
