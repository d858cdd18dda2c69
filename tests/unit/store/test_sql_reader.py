"""The read-only sqlite reader (and the sorts it does itself) on small hand-made stores.

That it answers exactly as MlflowClient does on a real store is checked in
tests/e2e/test_verbs.py (``test_the_sqlite_reader_lists_and_compares_exactly_as_mlflow_does``).
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import time
from pathlib import Path

import pytest

from framework.store.sql_order import SortKey, parse_sort
from framework.store.sql_reader import COLUMNS, KNOWN_REVISIONS, Unreadable, open_reader

REVISION = next(iter(KNOWN_REVISIONS))


def make_store(path: Path, revision: str = REVISION, drop: tuple[str, str] | None = None) -> str:
    """A sqlite file with the tables and columns the reader reads (minus ``drop``: table,
    column), one experiment and two runs; its tracking URI."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        for table, columns in COLUMNS.items():
            kept = sorted(c for c in columns if (table, c) != drop)
            connection.execute(f"CREATE TABLE {table} ({', '.join(kept)})")
        if drop is not None:
            return f"sqlite:///{path}"
        connection.execute("INSERT INTO experiments (experiment_id, name, lifecycle_stage, "
                           "creation_time) VALUES (1, 'e', 'active', 0)")
        for run_id, start in (("a" * 32, 2), ("b" * 32, 1)):
            connection.execute("INSERT INTO runs (run_uuid, experiment_id, status, start_time, "
                               "lifecycle_stage, artifact_uri) VALUES (?, 1, 'FINISHED', ?, "
                               "'active', '/tmp/x')", (run_id, start))
        connection.execute("INSERT INTO latest_metrics (key, value, is_nan, run_uuid) VALUES "
                           "('m', 0.0, 1, ?), ('m', 0.5, 0, ?)", ("a" * 32, "b" * 32))
        connection.execute("INSERT INTO params (key, value, run_uuid) VALUES ('p', '1', ?)",
                           ("a" * 32,))
    return f"sqlite:///{path}"


@pytest.mark.parametrize(("text", "expected"), [
    ("metrics.cv_accuracy_mean DESC", SortKey("latest_metrics", "cv_accuracy_mean", False)),
    ("metric.m", SortKey("latest_metrics", "m", True)),
    ("params.Trainer.seed asc", SortKey("params", "Trainer.seed", True)),
    ("params.`Trainer.estimator_params.max depth` desc",
     SortKey("params", "Trainer.estimator_params.max depth", False)),
    ("tags.mlflow.runName", SortKey("tags", "mlflow.runName", True)),
    ("attributes.start_time ASC", SortKey("runs", "start_time", True)),
    ("attr.created DESC", SortKey("runs", "start_time", False)),
    ("run.end_time", SortKey("runs", "end_time", True)),
    ("metrics.created", SortKey("latest_metrics", "start_time", True)),  # as MLflow sorts it
    ("params.`run name`", SortKey("params", "run_name", True)),
    # Left to MLflow's parser: other attributes, odd spacing, keywords, what MLflow refuses.
    ("attributes.status", None), ("start_time", None), ("metrics.x  DESC", None),
    (" metrics.x", None), ("params.from", None), ("params.x.in DESC", None),
    ("Metrics.x", None), ("metrics.x DESC DESC", None), ("datasets.name", None),
    ("metrics.1x", None), ("metrics.é", None), ("metrics.`a'b`", None),
])
def test_sort_forms_the_reader_reads(text: str, expected: SortKey | None) -> None:
    assert parse_sort(text) == expected


def test_every_sort_the_reader_reads_means_the_same_to_mlflow() -> None:
    from mlflow.utils.search_utils import SearchUtils

    kinds = {"latest_metrics": "metric", "params": "parameter", "tags": "tag",
             "runs": "attribute"}
    keys = ["m", "cv_accuracy_mean", "Trainer.seed", "`a b`", "`a-b/c:d`", "`x.y`", "A1_b",
            "from", "x.from", "case", "In", "values", "using", "as", "select", "order", "desc",
            "end", "null", "start_time", "end_time", "created", "Created", "status", "`run name`",
            "`Run Name`", "run_name"]
    entities = ["metrics", "metric", "params", "param", "parameter", "parameters", "tags",
                "tag", "attributes", "attribute", "attr", "run", "datasets", "Metrics"]
    read = 0
    for entity in entities:
        for key in keys:
            for direction in ("", " ASC", " desc", " Desc", "  DESC"):
                text = f"{entity}.{key}{direction}"
                ours = parse_sort(text)
                if ours is None:
                    continue
                read += 1
                kind, name, ascending = SearchUtils.parse_order_by_for_search_runs(text)
                assert (kind, SearchUtils.translate_key_alias(name), ascending) == (
                    kinds[ours.table], ours.key, ours.ascending), text
    assert read > 300


def test_the_known_revision_is_the_installed_mlflows_schema() -> None:
    """When MLflow moves its schema on, the reader steps aside (falls back to MlflowClient)
    until someone checks its queries against the new schema and adds the revision."""
    import os

    import mlflow.store.db_migrations as migrations
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(os.path.dirname(migrations.__file__)).get_heads()
    assert set(heads) <= KNOWN_REVISIONS, (
        f"MLflow's schema is now at {heads}: check framework/store/sql_reader.py against it, "
        "then add the revision to KNOWN_REVISIONS")


def test_a_known_store_is_read_with_mlflows_types_and_never_written(tmp_path: Path) -> None:
    uri = make_store(tmp_path / "mlflow.db")
    before = hashlib.sha256((tmp_path / "mlflow.db").read_bytes()).hexdigest()
    reader = open_reader(uri)
    assert reader is not None
    with reader:
        [experiment] = reader.search_experiments()
        assert (experiment.experiment_id, experiment.name) == ("1", "e")
        assert reader.get_experiment_by_name("e") == experiment
        assert reader.get_experiment_by_name("other") is None
        newest, older = reader.search_runs(["1"], None, None)
        assert (newest.info.run_id, newest.info.experiment_id) == ("a" * 32, "1")
        assert math.isnan(newest.data.metrics["m"]) and newest.data.params == {"p": "1"}
        assert older.data.metrics == {"m": 0.5} and older.data.tags == {}
        by_metric = reader.search_runs(["1"], parse_sort("metrics.m DESC"), 1)
        assert [run.info.run_id for run in by_metric] == ["b" * 32]  # NaN sorts last
        assert [r.info.run_id for r in reader.runs_by_prefix("aaaaaa")] == ["a" * 32]
        assert reader.get_run("c" * 32) is None
        with pytest.raises(Unreadable):
            reader.rows("INSERT INTO params VALUES ('q', '2', 'x')")  # read-only
        with pytest.raises(Unreadable):
            reader.rows("SELECT * FROM no_such_table")
    assert hashlib.sha256((tmp_path / "mlflow.db").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("case", ["missing file", "not a database", "unknown revision",
                                  "missing column", "missing table", "two revisions",
                                  "workspaces", "server", "uri options"])
def test_a_store_the_reader_cannot_answer_exactly_is_left_to_mlflow(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    path = tmp_path / "mlflow.db"
    uri = f"sqlite:///{path}"
    if case == "not a database":
        path.write_bytes(b"this is not sqlite" * 100)
    elif case == "unknown revision":
        make_store(path, revision="0123abcd4567")
    elif case == "missing column":
        make_store(path, drop=("latest_metrics", "is_nan"))
    elif case == "missing table":
        make_store(path)
        with sqlite3.connect(path) as connection:
            connection.execute("DROP TABLE tags")
    elif case == "two revisions":
        make_store(path)
        with sqlite3.connect(path) as connection:
            connection.execute("INSERT INTO alembic_version VALUES ('0123abcd4567')")
    elif case != "missing file":
        make_store(path)
        if case == "workspaces":
            monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
        uri = {"server": "http://127.0.0.1:5000", "uri options": f"{uri}?timeout=5"}.get(
            case, uri)
    assert open_reader(uri) is None
    assert not path.exists() or case != "missing file"  # nothing was created


def test_a_locked_store_is_left_to_mlflow_at_once(tmp_path: Path) -> None:
    uri = make_store(tmp_path / "mlflow.db")
    holder = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        assert open_reader(uri) is None
        assert time.monotonic() - started < 2  # MlflowClient's open waits and names the holder
    finally:
        holder.close()
    reader = open_reader(uri)
    assert reader is not None
    reader.connection.close()
