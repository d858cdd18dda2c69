"""Runners starting together in a new experiment all tag it for the MLflow UI.

MLflow sets an experiment tag by looking it up, then inserting it, without a lock: the slower
of two runners broke the tags table's key, and a sweep's configuration failed (seen on the
team's PostgreSQL in tests/services/test_team_sweep.py). Real processes released together by
a barrier, on one real sqlite store, a new experiment each round.
"""

from __future__ import annotations

import multiprocessing
from functools import partial
from pathlib import Path

import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (imported once, not per racer)
import pytest
from mlflow.tracking import MlflowClient

from framework.core.names import EXPERIMENT_KIND_TAG
from framework.store import ui
from support.races import race

PROCESSES = 4
ROUNDS = 2  # the race is lost at random (each round lost it, on the old code)
_CONTEXT = multiprocessing.get_context("fork")


def _make_experiments(uri: str, out: multiprocessing.Queue) -> None:
    client = MlflowClient(uri)
    for round_ in range(ROUNDS):
        out.put(client.create_experiment(f"race-{round_}"))


def tag_for_the_ui(experiment_id: str, client: MlflowClient) -> None:
    ui.mark_training_experiment(client, experiment_id)
    ui.show_metrics(client, experiment_id, ["cv_accuracy_mean"])


def test_processes_tagging_a_new_experiment_together_all_succeed(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    made: multiprocessing.Queue = _CONTEXT.Queue()
    maker = _CONTEXT.Process(target=_make_experiments, args=(uri, made))  # this process never
    maker.start()  # opens the store, so the racers it forks start without its connections
    maker.join(timeout=120)
    assert maker.exitcode == 0
    for _ in range(ROUNDS):
        experiment_id = made.get(timeout=30)
        tag = partial(tag_for_the_ui, experiment_id)
        assert race(tag, PROCESSES, prepare=partial(MlflowClient, uri)) == ["ok"] * PROCESSES
    tags = MlflowClient(uri).get_experiment(experiment_id).tags
    assert EXPERIMENT_KIND_TAG in tags


@pytest.mark.parametrize(("message", "lost"), [
    ("(sqlite3.IntegrityError) UNIQUE constraint failed: experiment_tags.key, "
     "experiment_tags.experiment_id", True),
    ('BAD_REQUEST: (psycopg.errors.UniqueViolation) duplicate key value violates unique '
     'constraint "experiment_tag_pk"', True),
    ("UNIQUE constraint failed: runs.run_uuid", False),
    ("database is locked", False),
])
def test_only_a_lost_insert_of_the_same_experiment_tag_counts_as_a_race(message, lost):
    assert ui.lost_tag_race(Exception(message)) is lost
