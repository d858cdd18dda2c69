"""A read-only reader of an MLflow sqlite store, for verbs that must answer without MLflow.

Importing MLflow and opening a store through it (alembic's schema check) takes about 1.7 s on
2 cores, more than the 1 s in which ``runs`` should show its first row; ``runs`` and ``diff``
only read a few rows, so for a ``sqlite:///`` store they read them here, with ``sqlite3``.

- ``open_reader`` returns a reader only for a store it can answer exactly as ``MlflowClient``
  would: an existing sqlite file, opened read-only (``mode=ro``: it never creates, writes or
  migrates anything), at an alembic revision this module was checked against
  (``KNOWN_REVISIONS``) and with the tables and columns read here; MLflow's workspaces off.
  Otherwise None, and the caller uses ``MlflowClient`` (which creates, migrates or refuses the
  store with its own one-line errors).
- Every answer is the one MLflow's sqlalchemy store gives for the same call (rows, order,
  values and their types); tests/e2e/test_verbs.py compares both on a real store.
- A sqlite error while reading (a lock, a corrupt page) is raised as ``Unreadable``, as is a
  question the reader does not answer: the caller then asks ``MlflowClient`` instead.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from framework.store.sql_order import SortKey
from framework.store.uris import sqlite_path

# The alembic head of MLflow 3.17's migrations. The schema below was checked against it; a
# store at any other revision is MLflow's to open (a test fails when MLflow's head moves on).
KNOWN_REVISIONS = frozenset({"dc11669786a5"})
RUN_COLUMNS = ("run_uuid", "experiment_id", "status", "start_time", "end_time",
               "lifecycle_stage", "artifact_uri")
COLUMNS = {  # table -> the columns read here
    "experiments": {"experiment_id", "name", "lifecycle_stage", "creation_time"},
    "runs": set(RUN_COLUMNS), "tags": {"key", "value", "run_uuid"},
    "params": {"key", "value", "run_uuid"},
    "latest_metrics": {"key", "value", "is_nan", "run_uuid"},
}
# MlflowClient.search_experiments()'s defaults: active only, max_results 1000, newest first.
EXPERIMENTS_SHOWN = 1000
EXPERIMENT_ORDER = "ORDER BY creation_time DESC, experiment_id ASC"
BUSY_TIMEOUT = 0.25  # seconds; a store locked for longer is MlflowClient's to wait for
CHUNK = 500  # run ids per IN (...): well under sqlite's limit on bound parameters


class Unreadable(Exception):
    """The reader cannot answer this exactly; ask ``MlflowClient``."""


# What the verbs read of MLflow's entities, under the same names and with the same types, so
# the verbs' code reads a ``StoredRun`` as it reads an ``mlflow.entities.Run``.
@dataclass(frozen=True)
class StoredExperiment:
    experiment_id: str
    name: str
    lifecycle_stage: str


@dataclass(frozen=True)
class StoredRunInfo:
    run_id: str
    experiment_id: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str


@dataclass(frozen=True)
class StoredRunData:  # the latest value of each metric, as RunData.metrics
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]


@dataclass(frozen=True)
class StoredRun:  # without the inputs and outputs (datasets, models) no verb reads here
    info: StoredRunInfo
    data: StoredRunData


class SqlReader:
    """Reads one sqlite store, inside one read transaction (one consistent snapshot)."""

    def __init__(self, connection: sqlite3.Connection, tracking_uri: str) -> None:
        self.connection = connection
        self.tracking_uri = tracking_uri

    def __enter__(self) -> SqlReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.connection.close()

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise Unreadable(str(error)) from None

    def search_experiments(self) -> list[StoredExperiment]:
        """As ``MlflowClient.search_experiments()``: the active experiments, at most 1000,
        newest first."""
        return [StoredExperiment(str(i), name, stage) for i, name, stage in self.rows(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments WHERE "
            f"lifecycle_stage = 'active' {EXPERIMENT_ORDER} LIMIT {EXPERIMENTS_SHOWN}")]

    def get_experiment_by_name(self, name: str) -> StoredExperiment | None:
        """As ``MlflowClient.get_experiment_by_name``: active or deleted, None when absent."""
        found = [StoredExperiment(str(i), named, stage) for i, named, stage in self.rows(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments WHERE name = ?",
            (name,))]
        if len(found) > 1:  # MLflow raises; let it say so
            raise Unreadable(f"{len(found)} experiments named {name!r}")
        return found[0] if found else None

    def get_run(self, run_id: str) -> StoredRun | None:
        """The run ``run_id`` in any lifecycle stage (``MlflowClient.get_run``), or None."""
        found = self.runs(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE run_uuid = ?",
                          (run_id,))
        return found[0] if found else None

    def runs_by_prefix(self, prefix: str, limit: int = 2) -> list[StoredRun]:
        """Up to ``limit`` runs of any stage whose id starts with ``prefix`` (hex digits), in
        the experiments ``MlflowClient.search_experiments(view_type=ALL)`` lists."""
        if not re.fullmatch(r"[0-9a-f]+", prefix):
            raise Unreadable(f"run id prefix {prefix!r}")
        return self.runs(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE run_uuid GLOB ? AND experiment_id "
            f"IN (SELECT experiment_id FROM experiments {EXPERIMENT_ORDER} LIMIT "
            f"{EXPERIMENTS_SHOWN}) ORDER BY start_time DESC, run_uuid LIMIT ?",
            (f"{prefix}*", limit))

    def search_runs(self, experiment_ids: Sequence[str], sort: SortKey | None,
                    limit: int | None) -> list[StoredRun]:
        """The active runs of ``experiment_ids`` in the order ``MlflowClient.search_runs``
        gives them (``sort`` first, nulls and NaN last, then newest first, then by id), at
        most ``limit``. Mirrors ``_get_orderby_clauses`` of MLflow's sqlalchemy store."""
        ids = [int(i) for i in experiment_ids]
        join, order, parameters = "", list[str](), list[Any]()
        if sort is not None:
            value = f"runs.{sort.key}" if sort.table == "runs" else "sorted.value"
            if sort.table != "runs":  # an outer join: runs without the key are listed too
                join = (f"LEFT OUTER JOIN (SELECT * FROM {sort.table} WHERE key = ?) AS sorted "
                        "ON runs.run_uuid = sorted.run_uuid")
                parameters.append(sort.key)
            missing = ("CASE WHEN sorted.is_nan = 1 THEN 1 WHEN sorted.value IS NULL THEN 2 "
                       "ELSE 0 END" if sort.table == "latest_metrics" else f"{value} IS NULL")
            order = [missing, value if sort.ascending else f"{value} DESC"]
        if sort is None or (sort.table, sort.key) != ("runs", "start_time"):
            order.append("runs.start_time DESC")
        order.append("runs.run_uuid")
        columns = ", ".join(f"runs.{c}" for c in RUN_COLUMNS)
        sql = (f"SELECT {columns} FROM runs {join} WHERE runs.experiment_id IN "
               f"({', '.join('?' * len(ids))}) AND runs.lifecycle_stage = 'active' "
               f"ORDER BY {', '.join(order)}")
        parameters += ids
        if limit is not None and limit < 2**63:  # SQLite's integers; more runs cannot exist
            sql += " LIMIT ?"
            parameters.append(limit)
        return self.runs(sql, parameters) if ids else []

    def runs(self, sql: str, parameters: Sequence[Any]) -> list[StoredRun]:
        """The runs ``sql`` selects (``RUN_COLUMNS``), in its order, with their data."""
        infos = [StoredRunInfo(uuid, str(experiment), status, start, end, stage, uri)
                 for uuid, experiment, status, start, end, stage, uri
                 in self.rows(sql, parameters)]
        ids = [info.run_id for info in infos]
        data = [self.keyed(table, ids) for table in ("tags", "params", "latest_metrics")]
        return [StoredRun(info, StoredRunData(*(of.get(info.run_id, {}) for of in data)))
                for info in infos]

    def keyed(self, table: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{run id: {key: value}}`` of ``table`` for the runs ``ids``. A NaN metric comes
        back from its ``is_nan`` flag, as MLflow reads it (the stored value is 0)."""
        nan = "is_nan" if table == "latest_metrics" else "0"
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for run_id, key, value, is_nan in self.rows(
                    f"SELECT run_uuid, key, value, {nan} FROM {table} WHERE run_uuid IN "
                    f"({', '.join('?' * len(chunk))})", chunk):
                found.setdefault(run_id, {})[key] = math.nan if is_nan else value
        return found


def open_reader(tracking_uri: str) -> SqlReader | None:
    """A reader of the store at ``tracking_uri`` when it can answer exactly as MlflowClient
    would (see the module's contract), else None. Never writes, never raises."""
    database = sqlite_path(tracking_uri)
    workspaces = os.environ.get("MLFLOW_ENABLE_WORKSPACES", "false").strip().lower()
    if database is None or "?" in tracking_uri or workspaces not in ("", "false", "0"):
        return None  # a server, a URI with options, or a store scoped by workspace
    try:
        if not database.is_file():
            return None  # MLflow creates it
        connection = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=ro",
                                     uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
    except (sqlite3.Error, OSError):
        return None
    reader = SqlReader(connection, tracking_uri)
    try:
        reader.rows("BEGIN")  # one snapshot for every read of this command
        if known_schema(reader):
            return reader
    except Unreadable:
        pass  # locked, corrupt or not a database: MlflowClient says which, in one line
    connection.close()
    return None


def known_schema(reader: SqlReader) -> bool:
    """True when the store is at a known revision and has every column read here."""
    revisions = {row[0] for row in reader.rows("SELECT version_num FROM alembic_version")}
    if len(revisions) != 1 or not revisions <= KNOWN_REVISIONS:
        return False
    return all(needed <= {row[1] for row in reader.rows(f"PRAGMA table_info({table})")}
               for table, needed in COLUMNS.items())
