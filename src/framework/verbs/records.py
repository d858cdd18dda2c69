"""What a run recorded, read back for the verbs: an artifact's text, its effective config, and
per task the run that made the output it used and that output's manifest (checked against the
digest its producing run recorded). Each takes an ``MlflowClient`` or a ``SqlReader`` and raises
``Unreadable`` for what only MLflow can read.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import UserError
from framework.core.names import EFFECTIVE_CONFIG_ARTIFACT
from framework.store.sql_reader import SqlReader, StoredRun, Unreadable
from framework.store.uris import local_path
from framework.verbs.common import find_run

if TYPE_CHECKING:
    from framework.verbs.common import AnyRun, Store


def read_artifact(store: Store, run: AnyRun, path: str) -> str | None:
    """The text of one artifact file of ``run``, None when it has none."""
    folder = local_path(run.info.artifact_uri)
    if folder is not None:
        try:
            return (folder / path).read_text()
        except OSError:
            return None
    if isinstance(store, SqlReader):
        raise Unreadable(f"artifacts at {run.info.artifact_uri}")  # MLflow downloads them
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as scratch:
        try:
            local = download_artifacts(run_id=run.info.run_id, artifact_path=path,
                                       dst_path=scratch, tracking_uri=store.tracking_uri)
        except (MlflowException, OSError):
            return None
        return Path(local).read_text()


def effective_config(store: Store, run: AnyRun) -> dict[str, Any]:
    """The run's ``effective_config.toml`` (the config after ``--set``) as a document."""
    text = read_artifact(store, run, EFFECTIVE_CONFIG_ARTIFACT)
    if text is None:
        raise UserError(f"run {run.info.run_id} has no {EFFECTIVE_CONFIG_ARTIFACT} artifact "
                        "(not made by this runner, or its artifacts were deleted); "
                        "name another run")
    return tomllib.loads(text)


def producer(store: Store, run: AnyRun, task: str) -> AnyRun | None:
    """The run that made the ``task`` output ``run`` used: itself, or its ``reused.<Task>``."""
    from framework.core.names import output_tag, reused_tag

    if output_tag(task) in run.data.tags:
        return run
    source = run.data.tags.get(reused_tag(task))
    return find_run(store, source) if source else None


def manifest_of(store: Store, run: AnyRun, task: str) -> dict[str, Any] | None:
    """The manifest of the ``task`` output ``run`` used, when it still verifies against the
    digest its producing run recorded; None when it is gone or was changed."""
    from framework.core.names import manifest_tag, output_tag
    from framework.outputs.folder import MANIFEST, sha256_of

    made_by = producer(store, run, task)
    if made_by is None:
        return None
    recorded = made_by.data.tags.get(manifest_tag(task))
    if not recorded:
        return None
    folder = Path(made_by.data.tags[output_tag(task)])
    # Artifacts on this machine are read in place; remote_outputs (it imports MLflow) is only
    # needed for an output another machine made.
    if local_path(made_by.info.artifact_uri) is None:
        from framework.store import remote_outputs as remote

        if not remote.is_own(folder):
            if isinstance(store, SqlReader) or isinstance(made_by, StoredRun):
                raise Unreadable(f"the {task} output of run {made_by.info.run_id} is remote")
            return remote.manifest(store, made_by, task, recorded)
    path = folder / MANIFEST
    if not path.is_file() or sha256_of(path) != recorded:
        return None
    try:
        found = json.loads(path.read_text())
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def tasks_of(run: AnyRun) -> list[str]:
    """The tasks of the run's DAG (those it recorded a signature of), by name."""
    from framework.core.names import signature_tag

    return tasks_tagged(run, signature_tag)


def tasks_tagged(run: AnyRun, tag_of: Callable[[str], str]) -> list[str]:
    """The tasks ``run`` has a ``tag_of(task)`` tag for, by name."""
    prefix = tag_of("")
    return sorted(key.removeprefix(prefix) for key in run.data.tags if key.startswith(prefix))


def table_runs(store: Store, run: AnyRun) -> list[str]:
    """The run of each row of a sweep's table (``sweep.csv``): its children, and the earlier
    runs that stood in for configurations already made; [] when it has no table."""
    from framework.core.names import SWEEP_TABLE_ARTIFACT, SWEEP_TABLE_RUN_COLUMN

    text = read_artifact(store, run, SWEEP_TABLE_ARTIFACT) or ""
    return [row[SWEEP_TABLE_RUN_COLUMN] for row in csv.DictReader(io.StringIO(text))
            if row.get(SWEEP_TABLE_RUN_COLUMN)]
