"""Reuse lookup in a big store: fill a store with runs, then time ``OutputIndex`` lookups.

``populate`` clones a real run of the runner (its rows in ``runs``, ``tags``, ``params``,
``metrics`` and ``latest_metrics``) with new run ids, start times spread around the original
and fresh random ``signature.<Task>`` digests, so the store looks like one that holds many
different experiments: every run carries the same tags, parameters and metrics a runner run
does. Rows are inserted with SQL because creating runs through ``MlflowClient`` costs about
15 ms each (``client_create_rate`` measures it), which would make 10,000 runs take minutes.

``python bench/lookup.py --project DIR --run RUN_ID --calls N`` is the measuring child: in a
fresh process it opens the project's store and times, for every task of ``RUN_ID``,
``OutputIndex.find`` with that run's signature (a hit, verified against the real output
folder), with a signature that matches nothing (a miss), and every ``OutputIndex.earlier``
output of the run's experiment (what the planner reads for a reason after a miss). It prints
one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

RUN_TABLES = ("tags", "params", "metrics", "latest_metrics")
SPACING_MS = 60_000  # clones start a minute apart


def store_path(project: Path) -> Path:
    return project / "mlruns" / "mlflow.db"


def count_runs(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _clone_tag(key: str, value: str, template_run: str, run_id: str,
               rng: random.Random) -> str:
    """The tag value a run of a different experiment would carry instead of ``value``."""
    if key.startswith("signature."):
        return hashlib.sha256(rng.randbytes(16)).hexdigest()
    if key == "mlflow.runName":
        return run_id[:8]
    return value.replace(template_run, run_id)


def populate(db: Path, template_run: str, total: int, seed: int = 0) -> int:
    """Add clones of ``template_run`` until the store holds ``total`` runs; return how many.

    Half of the clones start before the template run and half after it, so a lookup neither
    finds it first nor last by accident.
    """
    rng = random.Random(seed + count_runs(db))
    with sqlite3.connect(db) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
        template = dict(zip(columns, connection.execute(
            "SELECT * FROM runs WHERE run_uuid = ?", (template_run,)).fetchone(), strict=True))
        children = {table: _rows(connection, table, template_run) for table in RUN_TABLES}
        missing = total - count_runs(db)
        for index in range(max(missing, 0)):
            _insert_clone(connection, columns, template, children, index, missing, rng)
    return max(missing, 0)


def _rows(connection: sqlite3.Connection, table: str, run_id: str
          ) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = connection.execute(f"SELECT * FROM {table} WHERE run_uuid = ?", (run_id,))
    return [column[0] for column in cursor.description], cursor.fetchall()


def _insert_clone(connection: sqlite3.Connection, columns: list[str], template: dict[str, Any],
                  children: dict[str, tuple[list[str], list[tuple[Any, ...]]]], index: int,
                  count: int, rng: random.Random) -> None:
    run_id = uuid.UUID(int=rng.getrandbits(128)).hex
    shift = (index - count // 2) * SPACING_MS + rng.randrange(1, SPACING_MS // 2)
    run = {**template, "run_uuid": run_id, "name": run_id[:8],
           "start_time": template["start_time"] + shift,
           "end_time": (template["end_time"] or template["start_time"]) + shift,
           "artifact_uri": template["artifact_uri"].replace(template["run_uuid"], run_id)}
    connection.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES "
                       f"({', '.join('?' * len(columns))})", [run[c] for c in columns])
    for table, (names, rows) in children.items():
        position = names.index("run_uuid")
        cloned = []
        for row in rows:
            values = list(row)
            values[position] = run_id
            if table == "tags":
                key, value = names.index("key"), names.index("value")
                values[value] = _clone_tag(values[key], values[value], template["run_uuid"],
                                           run_id, rng)
            cloned.append(values)
        connection.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                               f"({', '.join('?' * len(names))})", cloned)


def client_create_rate(tracking_uri: str, runs: int) -> float:
    """Seconds per run to create ``runs`` runner-like runs through ``MlflowClient``."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("bench-client-rate")
    experiment_id = (experiment.experiment_id if experiment
                     else client.create_experiment("bench-client-rate"))
    started = time.perf_counter()
    for _ in range(runs):
        run_id = client.create_run(experiment_id, tags={"task": "Evaluator,Prediction"}).info.run_id
        client.log_batch(
            run_id, params=[Param(f"Task.param{i}", "value") for i in range(15)],
            metrics=[Metric(f"cv_metric{i}", 0.5, 0, 0) for i in range(6)],
            tags=[RunTag(f"signature.Task{i}", uuid.uuid4().hex * 2) for i in range(4)]
            + [RunTag(f"output.Task{i}", f"/nowhere/{run_id}/Task{i}") for i in range(4)])
        client.set_terminated(run_id)
    return (time.perf_counter() - started) / runs


# --- the measuring child ----------------------------------------------------------------------

def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def _median_ms(call: Callable[[], Any], calls: int) -> float:
    return statistics.median(_timed(call)[0] for _ in range(calls))


def measure_lookups(project: Path, run_id: str, calls: int) -> dict[str, Any]:
    """Open ``project``'s store in this process and time lookups (milliseconds)."""
    sys.path.insert(0, str(project / "src"))
    os.chdir(project)
    from framework.config.environment import load_environment

    load_environment(project)
    import_ms, _ = _timed(lambda: __import__("framework.planning.planner"))
    from mlflow.tracking import MlflowClient

    from framework.outputs.folder import OutputFolder
    from framework.planning.planner import OutputIndex, output_tag, stored_signature
    from framework.store.tracking import tracking_uri

    open_ms, client = _timed(lambda: MlflowClient(tracking_uri()))
    index = OutputIndex(client)
    first_query_ms, _ = _timed(index.experiments)
    run = client.get_run(run_id)
    tags = run.data.tags

    def earlier(task: str) -> list[Any]:
        return list(index.earlier(task, run.info.experiment_id))

    tasks: dict[str, Any] = {}
    for key in sorted(tag for tag in tags if tag.startswith("output.")):
        task = key.removeprefix("output.")
        signature = stored_signature(OutputFolder(Path(tags[output_tag(task)]), task))
        if signature is None:
            continue
        cold_ms, found = _timed(partial(index.find, signature))
        if found is None or found[0] != run_id:
            raise SystemExit(f"lookup of {task} did not find run {run_id}: {found}")
        miss = replace(signature, params={**signature.params, "bench": "miss"})
        tasks[task] = {
            "hit_first_ms": round(cold_ms, 2),
            "hit_ms": round(_median_ms(partial(index.find, signature), calls), 2),
            "miss_ms": round(_median_ms(partial(index.find, miss), calls), 2),
            "earlier_ms": round(_median_ms(partial(earlier, task), calls), 2),
        }
    return {"import_ms": round(import_ms, 1), "store_open_ms": round(open_ms, 1),
            "first_query_ms": round(first_query_ms, 1), "tasks": tasks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time OutputIndex lookups in a project copy")
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--run", required=True, help="a run whose outputs exist")
    parser.add_argument("--calls", type=int, default=30, help="calls per median")
    args = parser.parse_args(argv)
    print(json.dumps(measure_lookups(args.project.resolve(), args.run, args.calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
