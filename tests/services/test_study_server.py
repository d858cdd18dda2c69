"""The team's study server (compose service ``study-server``): Optuna's gRPC storage proxy on
PostgreSQL, run as the compose file's very command against a database the test names.

Two processes share a study through it with Optuna's own client, and two project clones, each
with its own MLflow store, run one adaptive search together: ``trials`` trials in total, no
trial number twice. Processes creating one new study database on PostgreSQL together all
open it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from support.project import REPO, SEED_CONFIG, Project, copy_project
from support.races import race
from support.servers import POSTGRES, postgres_database, running_study_server
from support.team import require_postgres

CLIENT = """
import sys
import optuna
host, port = sys.argv[1].removeprefix("grpc://").split(":")
storage = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
study = optuna.create_study(study_name="shared", storage=storage, direction="maximize",
                            load_if_exists=True)
for _ in range(5):
    trial = study.ask()
    study.tell(trial, trial.suggest_float("x", 0.0, 1.0))
"""


def trials_per_study(database_uri: str) -> dict[str, int]:
    """What PostgreSQL itself holds: study name -> number of trials."""
    import psycopg

    with psycopg.connect(database_uri) as connection:
        rows = connection.execute("SELECT study_name, count(*) FROM trials JOIN studies "
                                  "USING (study_id) GROUP BY study_name").fetchall()
    return {str(name): int(count) for name, count in rows}


@pytest.fixture(scope="module")
def study_server() -> Iterator[tuple[str, str]]:
    """(grpc address, database URI): the server on a database it creates on first start."""
    import psycopg

    require_postgres()
    name = f"runner_test_{uuid.uuid4().hex[:12]}"
    database = f"{POSTGRES}/{name}"
    try:
        with running_study_server(REPO, database) as address:
            yield address, database
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The runner silences Optuna's notice that the proxy is experimental (framework/search/study.py);
# this test opens the proxy itself.
@pytest.mark.filterwarnings("ignore:GrpcStorageProxy is experimental")
def test_two_processes_share_a_study_through_the_proxy(study_server, tmp_path: Path):
    address, database = study_server
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, address], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for client in clients:
        _, err = client.communicate(timeout=120)
        assert client.returncode == 0, err
    host, port = address.removeprefix("grpc://").split(":")
    study = optuna.load_study(study_name="shared", storage=optuna.storages.GrpcStorageProxy(
        host=host, port=int(port)))
    assert sorted(t.number for t in study.trials) == list(range(10))
    # Stored in PostgreSQL, in the database the server created, not in the server's memory.
    assert trials_per_study(database)["shared"] == 10


CONFIG = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]') + """
[Evaluator]
folds = 2
"""
SEARCH = ("--sweep", "method=tpe", "--sweep", "trials=4",
          "--sweep", "Trainer.estimator_params.alpha={loguniform=[0.01, 10.0]}")


def trial_numbers(project: Project) -> list[int]:
    return [int(r.data.tags["trial.number"]) for r in project.runs()
            if "trial.number" in r.data.tags]


def test_two_clones_share_one_study_through_the_study_server(
        study_server, tmp_path: Path, titanic_dir: Path):
    address, database = study_server
    clones = [copy_project(tmp_path / name, titanic_dir) for name in ("alice", "bob")]
    for clone in clones:
        clone.write_config(CONFIG)
    started = [clone.start(*SEARCH, RUNNER_STUDY_STORAGE=address) for clone in clones]
    for process in started:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    alice, bob = (trial_numbers(clone) for clone in clones)
    assert sorted(alice + bob) == [0, 1, 2, 3]  # the study's total, no number twice
    assert [n for s, n in trials_per_study(database).items() if s != "shared"] == [4]
    # Cross-validated before the final fit, each trial's scores are still its model's (the
    # median pruner starts judging after 5 trials: all 4 complete).
    linked = 0
    for clone in clones:
        client = MlflowClient(clone.tracking_uri)
        for listed in clone.runs():
            if listed.data.tags.get("trial.state") == "COMPLETE":
                run = client.get_run(listed.info.run_id)
                (output,) = run.outputs.model_outputs
                model = client.get_logged_model(output.model_id)
                scores = {m.key: m.value for m in model.metrics}
                assert scores["cv_accuracy_mean"] == run.data.metrics["cv_accuracy_mean"]
                linked += 1
    assert linked == 4


def test_processes_creating_one_postgres_storage_together_all_open_it():
    """Optuna creates a new storage without a lock; on PostgreSQL the losers collide on a
    table's type or a version row, and must open the storage again (framework/search/storage.py).
    """
    from framework.search.storage import open_storage

    require_postgres()
    # Opened once here first, so that every module opening one needs is loaded before the
    # fork: the processes then race on the creation itself, not on their imports.
    with postgres_database("runner_study_warm") as url:
        open_storage(url.replace("postgresql://", "postgresql+psycopg://"))
    for _ in range(2):  # a fresh database each round: the race is lost at random
        with postgres_database("runner_study_race") as url:
            url = url.replace("postgresql://", "postgresql+psycopg://")
            assert race(partial(open_storage, url), 6) == ["ok"] * 6
