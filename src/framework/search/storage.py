"""Where a study is stored, and opening that storage.

A local tracking store keeps its studies in ``optuna.db`` beside it (sqlite, Optuna's
``RDBStorage``); a team names one in ``RUNNER_STUDY_STORAGE``: an RDB URL, or
``grpc://host:port`` for Optuna's gRPC storage proxy (compose service ``study-server``).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from urllib.parse import urlparse

import optuna

from framework.core.errors import UserError
from framework.core.local_dirs import LOCAL_ROOT

STORAGE_VARIABLE = "RUNNER_STUDY_STORAGE"
STORAGE_FILE = "optuna.db"
CREATE_ATTEMPTS = 10  # processes racing to create one new storage (lost_creation_race)


def storage_url(tracking_uri: str, project_root: Path) -> str:
    """``RUNNER_STUDY_STORAGE``, else ``optuna.db`` beside a sqlite tracking store, else in
    the project's ``mlruns/``."""
    if os.environ.get(STORAGE_VARIABLE):
        return os.environ[STORAGE_VARIABLE]
    if tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).parent
    else:
        folder = project_root / LOCAL_ROOT
    return f"sqlite:///{(project_root / folder / STORAGE_FILE).resolve()}"


def shown(url: str) -> str:
    """The storage address without a password, for logs and tags."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The storage at ``url``, created if new; ``UserError`` when it cannot be reached.

    A lost creation race (``lost_creation_race``) is tried again, up to ``CREATE_ATTEMPTS``
    times in all, then reported like any other failure."""
    if url.startswith("grpc://"):
        parsed = urlparse(url)
        try:
            return optuna.storages.GrpcStorageProxy(host=parsed.hostname or "localhost",
                                                    port=parsed.port or 13000)
        except ImportError:
            raise UserError(f"{STORAGE_VARIABLE}={url}: Optuna's gRPC proxy needs grpcio; "
                            "pip install grpcio protobuf, or use an RDB URL") from None
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    attempts = 1
    while True:
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except Exception as error:  # any driver's failure to connect
            # The failed attempt's engine is left to the garbage collector (Optuna keeps it
            # out of reach): an idle connection or so, for a moment, once per lost race.
            if attempts < CREATE_ATTEMPTS and lost_creation_race(error):
                attempts += 1
                time.sleep(random.uniform(0.05, 0.3))
                continue
            raise UserError(f"study storage {shown(url)}: {type(error).__name__}: "
                            f"{str(error).splitlines()[0]}; fix {STORAGE_VARIABLE}") from None


def lost_creation_race(error: Exception) -> bool:
    """True when ``error`` is another process creating the same new storage first.

    Optuna creates its tables, then inserts its version rows, each checked first and without
    a lock; processes started together on a new storage collide on a table ("already
    exists") or a row (a unique key). Opening again finds what the winner made."""
    import sqlalchemy.exc

    return isinstance(error, sqlalchemy.exc.IntegrityError) or (
        isinstance(error, sqlalchemy.exc.DatabaseError) and "already exists" in str(error))
