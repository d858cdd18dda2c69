"""Runners logging the same new table into one experiment at the same moment all record it.

MLflow looks a dataset up, then inserts it, without a lock, so the slower of two runners broke
the datasets table's key and failed with exit 1 (seen in tests/services/test_scale_out.py: two
runs at once on one scheduler). Real processes released together by a barrier, each logging
into its own run of one real sqlite store.
"""

from __future__ import annotations

import multiprocessing
from functools import partial
from pathlib import Path

# Imported once here, not in every racer.
import mlflow.data.pandas_dataset
import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from framework.store import datasets
from support.races import race

PROCESSES = 4
ROUNDS = 3  # new tables each round: the race is lost at random
TABLES = 10  # logged in one call: a longer look-up-then-insert, a likelier collision
_CONTEXT = multiprocessing.get_context("fork")


def _make_runs(uri: str, count: int, out: multiprocessing.Queue) -> None:
    client = MlflowClient(uri)
    experiment = client.create_experiment("race")
    for _ in range(count):
        out.put(client.create_run(experiment).info.run_id)


def runs_made_elsewhere(uri: str, count: int) -> multiprocessing.Queue:
    """``count`` run ids, made in another process: this one never opens the store, so the
    racers it forks start without its connections."""
    ids: multiprocessing.Queue = _CONTEXT.Queue()
    maker = _CONTEXT.Process(target=_make_runs, args=(uri, count, ids))
    maker.start()
    maker.join(timeout=120)
    assert maker.exitcode == 0
    return ids


def tables(round_: int) -> list[datasets.RawTable]:
    """New tables, their dataset entries built here, once (``version`` set): the racers
    inherit them and only log."""
    made = [datasets.RawTable(f"train-{round_}-{index}.csv", "train.csv",
                              pd.DataFrame({"x": [round_, index, 2.0], "y": [0.0, 1.0, 0.0]}),
                              targets="y", version="1")
            for index in range(TABLES)]
    for table in made:
        datasets.dataset_input(table)
    return made


def log_tables(logged: list[datasets.RawTable], ready: tuple[MlflowClient, str]) -> None:
    datasets.log_datasets(*ready, logged)


@pytest.mark.filterwarnings("ignore:The specified dataset source:UserWarning",  # MLflow's own
                            "ignore:Starting with pandas version 4.0")
def test_processes_logging_the_same_new_tables_together_all_record_them(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ids = runs_made_elsewhere(uri, PROCESSES * ROUNDS)

    def client_and_run() -> tuple[MlflowClient, str]:
        return MlflowClient(uri), ids.get(timeout=30)

    for round_ in range(ROUNDS):
        log = partial(log_tables, tables(round_))
        assert race(log, PROCESSES, prepare=client_and_run) == ["ok"] * PROCESSES


@pytest.mark.parametrize(("message", "lost"), [
    ("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
     "datasets.name, datasets.digest", True),
    ('duplicate key value violates unique constraint "dataset_pk"', True),
    ("UNIQUE constraint failed: inputs.source_type", False),
    ("database is locked", False),
])
def test_only_the_dataset_key_counts_as_a_lost_race(message: str, lost: bool):
    assert datasets.lost_dataset_race(Exception(message)) is lost
