"""The one owner of the MLflow run: it opens it, records what made it, and always closes it.

Everything goes through an explicit ``MlflowClient`` and run id, never through MLflow's global
"active run", because Luigi runs tasks in forked worker processes where that state is gone.
Everything text-like that is logged (params, tags, texts, text artifacts) passes through
``framework.core.secrets.redact`` first; every write rides out a busy store
(``connection.retrying``).
"""

from __future__ import annotations

import getpass
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.time import get_current_time_millis

from framework.core.lifeline import process_alive, signals_deferred, started_before
from framework.core.names import (
    CLOSED_BY_TAG,
    DESCRIPTION_TAG,
    HOST_TAG,
    PARENT_TAG,
    PID_TAG,
    SOURCE_TYPE_TAG,
    USER_TAG,
)
from framework.core.secrets import redact, redacted_copy
from framework.outputs.folder import remove_stale_staging
from framework.store.connection import open_store, retrying
from framework.store.uris import local_path

# Re-exported: the engine opens the store and finds artifact folders through this module.
__all__ = ["local_path", "open_store"]
T = TypeVar("T")

FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
KILLED = RunStatus.to_string(RunStatus.KILLED)
MAX_PARAM_LENGTH = 6000  # MLflow rejects longer parameter values.
# (run id, status) of every run this process closed, for the command line's last words.
closed_runs: list[tuple[str, str]] = []


@dataclass
class TrackedRun:
    """An open MLflow run. Set ``failed`` when the work failed without raising."""

    client: MlflowClient
    run_id: str
    experiment_id: str
    artifact_uri: str
    failed: bool = False
    status: str = field(default="RUNNING")

    @property
    def artifact_dir(self) -> Path | None:
        """The run's artifact folder when it is on this machine's file system, else None."""
        return local_path(self.artifact_uri)

    def retry(self, action: Callable[[], T], what: str) -> T:
        return retrying(action, f"{what} of run {self.run_id}", self.client.tracking_uri)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters in one batch (MLflow caps a batch at 100 entries), redacted."""
        items = [Param(key, redact(str(value))[:MAX_PARAM_LENGTH])
                 for key, value in params.items()]
        for start in range(0, len(items), 100):
            self.retry(partial(self.client.log_batch, self.run_id,
                               params=items[start:start + 100]), "params")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (values redacted)."""
        items = [RunTag(key, redact(str(value))) for key, value in tags.items()]
        for start in range(0, len(items), 100):
            self.retry(partial(self.client.log_batch, self.run_id,
                               tags=items[start:start + 100]), "tags")

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        """Log a file (a redacted copy when it is text holding a secret) or a folder."""
        with tempfile.TemporaryDirectory() as scratch:
            source = redacted_copy(path, Path(scratch))
            self.retry(lambda: self.client.log_artifact(self.run_id, str(source), folder),
                       f"artifact {path.name}")

    def log_text(self, text: str, name: str) -> None:
        """Log ``text`` (redacted) as an artifact file called ``name``."""
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / name
            path.write_text(redact(text))
            self.log_artifact(path)


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The id of experiment ``name``, created when missing, restored when deleted."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name)
        except MlflowException:  # another run created it a moment ago
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return str(experiment.experiment_id)


@contextmanager
def tracked_run(
    client: MlflowClient, experiment: str, description: str, tags: Mapping[str, str],
    parent_run_id: str | None = None, run_name: str | None = None,
) -> Iterator[TrackedRun]:
    """Open a run and guarantee it ends FINISHED, FAILED or KILLED, never left RUNNING.

    KILLED on Ctrl-C or SIGTERM (``KeyboardInterrupt``), FAILED on any other
    exception or when the body set ``failed``, FINISHED otherwise. Closing survives a busy
    store (retried until the deadline) and further signals (held back until it is done).
    With ``parent_run_id`` the run is a child of that run (a sweep's configuration); the
    MLflow UI nests it there. ``run_name`` is what the UI lists it as (MLflow's
    ``mlflow.runName``; without it MLflow makes up one).
    """
    uri = client.tracking_uri
    experiment_id = retrying(lambda: ensure_experiment(client, experiment),
                             f"experiment {experiment!r}", uri)
    close_orphans(client)
    run = retrying(lambda: client.create_run(
        experiment_id, run_name=redact(run_name) if run_name else None,
        tags={key: redact(value) for key, value in {
            DESCRIPTION_TAG: description,
            USER_TAG: getpass.getuser(),
            SOURCE_TYPE_TAG: "LOCAL",
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(os.getpid()),
            **({PARENT_TAG: parent_run_id} if parent_run_id else {}),
            **tags,
        }.items()},
    ), "creating the run", uri)
    tracked = TrackedRun(client, run.info.run_id, experiment_id, run.info.artifact_uri)
    status = FAILED
    try:
        yield tracked
        status = FAILED if tracked.failed else FINISHED
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as ``Interrupted``
        status = KILLED
        raise
    finally:
        tracked.status = status
        with signals_deferred():
            close_run(tracked, status)


def close_run(run: TrackedRun, status: str) -> None:
    """End ``run`` with ``status`` and drop staging folders its dead workers left."""
    run.retry(lambda: run.client.set_terminated(run.run_id, status), "closing")
    closed_runs.append((run.run_id, status))
    if run.artifact_dir is not None:
        remove_stale_staging(run.artifact_dir, writer_alive=started_before)


def close_orphans(client: MlflowClient) -> None:
    """Mark KILLED the RUNNING runs of this machine, in every experiment of the store, whose
    runner process is gone, and remove the staging folders their tasks left.

    Only a SIGKILL (or a power cut) gets past ``tracked_run``; such a run would otherwise
    stay RUNNING for ever.
    """
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    for start in range(0, len(experiments), 100):
        running = client.search_runs(
            experiments[start:start + 100],
            filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = "
                          f"'{socket.gethostname()}'")
        for run in running:
            pid = int(run.data.tags.get(PID_TAG, "0"))
            if pid and not process_alive(pid):
                client.set_tag(run.info.run_id, CLOSED_BY_TAG,
                               "a later run: process was gone")
                client.set_terminated(run.info.run_id, KILLED)
                if (folder := local_path(run.info.artifact_uri)) is not None:
                    remove_stale_staging(folder, writer_alive=None)


def log_metrics(tracking_uri: str, run_id: str, metrics: Mapping[str, float],
                model_id: str | None = None, step: int = 0) -> None:
    """Log metrics to ``run_id`` from any process (tasks use this, not the fluent API).

    With ``model_id`` they are also the metrics of that logged model (its page shows them).
    """
    now = get_current_time_millis()
    client = MlflowClient(tracking_uri)
    batch = [Metric(k, float(v), now, step, model_id=model_id) for k, v in metrics.items()]
    retrying(partial(client.log_batch, run_id, metrics=batch), f"metrics of run {run_id}",
             tracking_uri)


def set_run_tags(tracking_uri: str, run_id: str, tags: Mapping[str, str]) -> None:
    """Set (redacted) tags on ``run_id`` from any process, e.g. a task's manifest digest."""
    client = MlflowClient(tracking_uri)
    batch = [RunTag(key, redact(value)) for key, value in tags.items()]
    retrying(partial(client.log_batch, run_id, tags=batch), f"tags of run {run_id}",
             tracking_uri)


@contextmanager
def sklearn_autolog(tracking_uri: str, run_id: str) -> Iterator[None]:
    """``mlflow.sklearn.autolog`` into ``run_id`` for the fits inside the block only.

    Autolog needs MLflow's fluent active run, so the run is resumed for the block. Leaving
    it marks the run FINISHED; it is set back to RUNNING, since ``tracked_run`` owns its end.
    Autolog is switched off afterwards, or every later fit in this process (the Evaluator's
    cross-validation) would open a run of its own.
    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.sklearn.autolog(log_models=False, silent=True)
    try:
        with mlflow.start_run(run_id=run_id):
            yield
    finally:
        mlflow.sklearn.autolog(disable=True)
        MlflowClient(tracking_uri).update_run(run_id, status="RUNNING")


def tracking_uri() -> str:
    """The tracking URI the runner resolved from ``.env`` and the environment."""
    return os.environ["MLFLOW_TRACKING_URI"]
