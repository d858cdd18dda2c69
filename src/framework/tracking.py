"""The one owner of the MLflow run: it opens it, records what made it, and always closes it.

Everything goes through an explicit ``MlflowClient`` and run id, never through MLflow's global
"active run", because Luigi runs tasks in forked worker processes where that state is gone.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.time import get_current_time_millis

FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
KILLED = RunStatus.to_string(RunStatus.KILLED)
MAX_PARAM_LENGTH = 6000  # MLflow rejects longer parameter values.
HOST_TAG = "runner.host"
PID_TAG = "runner.pid"
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests child runs by


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

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters in one batch (MLflow caps a batch at 100 entries)."""
        items = [Param(key, str(value)[:MAX_PARAM_LENGTH]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        items = [RunTag(key, str(value)) for key, value in tags.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, tags=items[start:start + 100])

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def log_text(self, text: str, name: str) -> None:
        """Log ``text`` as an artifact file called ``name``."""
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / name
            path.write_text(text)
            self.log_artifact(path)


def local_path(uri: str) -> Path | None:
    """The local folder an artifact URI names, or None for a remote store."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def open_store(tracking_uri: str) -> MlflowClient:
    """A client whose store is ready to use.

    MLflow creates (migrates) a new sqlite store on first use, and two processes doing that
    at once break it; a lock file beside the database lets the first one finish.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri)
    with open(f"{tracking_uri.removeprefix('sqlite:///')}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)
    return client


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
    parent_run_id: str | None = None,
) -> Iterator[TrackedRun]:
    """Open a run and guarantee it ends FINISHED, FAILED or KILLED, never left RUNNING.

    KILLED on Ctrl-C or SIGTERM (``KeyboardInterrupt``), FAILED on any other
    exception or when the body set ``failed``, FINISHED otherwise. With ``parent_run_id``
    the run is a child of that run (a sweep's configuration); the MLflow UI nests it there.
    """
    experiment_id = ensure_experiment(client, experiment)
    close_orphans(client, experiment_id)
    run = client.create_run(
        experiment_id,
        tags={
            "mlflow.note.content": description,
            "mlflow.user": getpass.getuser(),
            "mlflow.source.type": "LOCAL",
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(os.getpid()),
            **({PARENT_TAG: parent_run_id} if parent_run_id else {}),
            **tags,
        },
    )
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
        client.set_terminated(tracked.run_id, status)


def close_orphans(client: MlflowClient, experiment_id: str) -> None:
    """Mark KILLED the RUNNING runs of this machine whose runner process is gone.

    Only a SIGKILL (or a power cut) gets past ``tracked_run``; such a run would otherwise
    stay RUNNING for ever.
    """
    running = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = "
                      f"'{socket.gethostname()}'")
    for run in running:
        pid = int(run.data.tags.get(PID_TAG, "0"))
        if pid and not process_alive(pid):
            client.set_tag(run.info.run_id, "runner.closed_by", "a later run: process was gone")
            client.set_terminated(run.info.run_id, KILLED)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def log_metrics(tracking_uri: str, run_id: str, metrics: Mapping[str, float],
                model_id: str | None = None) -> None:
    """Log metrics to ``run_id`` from any process (tasks use this, not the fluent API).

    With ``model_id`` they are also the metrics of that logged model (its page shows them).
    """
    now = get_current_time_millis()
    client = MlflowClient(tracking_uri)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0, model_id=model_id)
                                      for k, v in metrics.items()])


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
