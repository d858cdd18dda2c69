"""Outputs another runner computed for this run, through Luigi's central scheduler.

When work is shared (``framework.execution.shared_work``), a task of this run is identified on
the scheduler by its signature (``work_id``), and whichever runner is granted it computes it.
The others "adopt" the result: ``RunTask.complete`` finds the verified output in the tracking
store (the same lookup as reuse, so a remote one is downloaded and verified first).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from framework.task.context import current_run

if TYPE_CHECKING:
    from framework.store.index import OutputIndex

# Outputs adopted by this process, by work id: (folder, producing run).
_adopted: dict[str, tuple[Path, str]] = {}
_index: list[OutputIndex] = []


def work_id(task: str, run_id: str) -> str:
    """The Luigi identity of ``task`` in run ``run_id``: its signature when shared."""
    try:
        return current_run().work_ids.get(task, run_id)
    except RuntimeError:  # no run: a task made outside the runner (a test, a notebook)
        return run_id


def adopted(work: str) -> Path | None:
    found = _adopted.get(work)
    return found[0] if found else None


def adopt(task: str, work: str, run_id: str, required: Sequence[str] = ()
          ) -> tuple[Path, str] | None:
    """The verified output another run made of shared work ``work`` (task ``task`` of run
    ``run_id``, which must hold ``required``): (folder, producing run id), if any."""
    if work not in current_run().work_ids.values():
        return None
    if work in _adopted:
        return _adopted[work]
    signature = current_run().signatures.get(task)
    if signature is None or signature.digest != work:
        return None
    found = index().find(signature, required)
    if found is None or found[0] == run_id:
        return None
    _adopted[work] = (found[1], found[0])
    return _adopted[work]


def index() -> OutputIndex:
    from mlflow.tracking import MlflowClient

    from framework.store.index import OutputIndex

    if not _index or _index[0].client.tracking_uri != current_run().tracking_uri:
        _index[:] = [OutputIndex(MlflowClient(current_run().tracking_uri))]
    _index[0].refused.clear()
    return _index[0]
