"""The raw tables a run read, logged as MLflow dataset inputs (the UI's Dataset column).

A task opts in by returning ``RawTable``s from ``RunTask.datasets()``. The runner logs them for
every task of the DAG, whether the task runs, is reused or is pinned: the run was made from
that data either way, and an identical entry (name, digest, context) is logged once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from framework.core.names import DATASET_CONTEXT_TAG

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import DatasetInput
    from mlflow.tracking import MlflowClient


Table = Union["pd.DataFrame", Callable[[], "pd.DataFrame"]]


@dataclass(frozen=True)
class RawTable:
    """One table a task reads.

    ``name`` is what the UI shows (e.g. ``train.csv``); ``source`` where it is read from (a
    path or URI); ``table`` the data itself, or a function that loads it (called only when
    the run is recorded); ``context`` what it is used for (``training``, ``test``, ...);
    ``targets`` the label column, if the table has one. ``version`` (e.g. the file's size and
    mtime) lets a process that records many runs from one table (a sweep) build its dataset
    entry once; "" means build it every time.
    """

    name: str
    source: str | Path
    table: Table
    context: str = "training"
    targets: str | None = None
    version: str = ""

    def frame(self) -> pd.DataFrame:
        return self.table() if callable(self.table) else self.table


# Dataset entries already built by this process, by (name, source, context, targets, version).
_built: dict[tuple[str, str, str, str | None, str], DatasetInput] = {}


def dataset_input(raw: RawTable) -> DatasetInput:
    """``raw`` as MLflow's dataset input: name, digest, source, schema, profile, context."""
    key = (raw.name, str(raw.source), raw.context, raw.targets, raw.version)
    if raw.version and key in _built:
        return _built[key]
    _built[key] = entry = _build(raw)
    return entry


def _build(raw: RawTable) -> DatasetInput:
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = from_pandas(raw.frame(), source=str(raw.source), name=raw.name,
                                      targets=raw.targets)
    # to_dict() is the documented serialisation of a dataset; its keys are Dataset's fields.
    return DatasetInput(Dataset(**dataset.to_dict()), [InputTag(DATASET_CONTEXT_TAG, raw.context)])


def log_datasets(client: MlflowClient, run_id: str, tables: Iterable[RawTable]) -> list[str]:
    """Log ``tables`` (every task's ``datasets()``) on ``run_id``; return the names logged."""
    inputs: dict[tuple[str, str, str], DatasetInput] = {}
    for raw in tables:
        entry = dataset_input(raw)
        inputs.setdefault((entry.dataset.name, entry.dataset.digest, raw.context), entry)
    if inputs:
        from framework.store.connection import retrying

        entries = list(inputs.values())
        retrying(lambda: client.log_inputs(run_id, datasets=entries),
                 f"logging the datasets of run {run_id}", client.tracking_uri,
                 lost_race=lost_dataset_race)
    return [entry.dataset.name for entry in inputs.values()]


# MLflow looks a dataset up, then inserts it if missing, without a lock: two runners logging
# the same new table into one experiment at the same moment both insert, and the slower one
# breaks the datasets table's key (sqlite: "UNIQUE constraint failed: datasets.…", PostgreSQL:
# "dataset_pk").
RACE_MARKERS = ("UNIQUE constraint failed: datasets.", '"dataset_pk"')


def lost_dataset_race(error: Exception) -> bool:
    """True when ``error`` is another runner having inserted the same dataset first."""
    return any(marker in str(error) for marker in RACE_MARKERS)
