"""Task outputs on a remote artifact store: an MLflow server with proxied artifacts.

A run logged to ``MLFLOW_TRACKING_URI=http://...`` writes its task folders under
``mlruns/local/<run_id>/`` first; each folder is uploaded as the run's ``<Task>/`` artifacts as
soon as its task has published it (``upload``), its manifest last, and only then does the run
record the manifest's digest (tag ``manifest.<Task>``). So a remote folder is complete exactly
when its run carries that tag and the folder verifies against a manifest with that digest.

Another machine uses such an output through its local cache, ``mlruns/cache/<run_id>/<path>/``
(``fetch``): downloaded into a staging folder, verified (every file against the manifest, the
manifest against the recorded digest), and only then moved into place. A cached copy is checked
the same way every time it is used. The cache is bounded by ``RUNNER_CACHE_MB`` (megabytes,
default 5120): after a download, the least recently used entries go until it fits again,
except those this process uses. Deleting ``mlruns/cache/`` empties it at any time no runner
is using it.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import UserError
from framework.core.local_dirs import CACHE_DIR
from framework.core.names import manifest_tag
from framework.core.secrets import redact
from framework.outputs import signing
from framework.outputs.folder import MANIFEST, STAGING_PREFIX, OutputFolder, sha256_of
from framework.store.connection import first_line

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

CACHE_ENV = "RUNNER_CACHE_MB"
DEFAULT_CACHE_MB = 5120
# What a download that failed on the server's side says (requests, urllib3, MLflow).
SERVER_FAILURES = ("max retries", "connection", "timed out", "timeout", "error responses",
                   "internal", "incomplete", "broken pipe", "503", "502", "500")
_in_use: set[Path] = set()  # cache entries this process relies on: never evicted by it


def is_remote(artifact_uri: str) -> bool:
    """True when the run's artifacts are not a folder of this machine (``mlflow-artifacts:``,
    ``s3:``, ``http:``...)."""
    from framework.store.tracking import local_path

    return local_path(artifact_uri) is None


def is_own(folder: Path) -> bool:
    """True when ``folder`` lies inside this project. Decided from the path alone: a folder
    another machine recorded is never looked at here, not even to see whether it exists."""
    return folder.is_absolute() and folder.is_relative_to(Path.cwd())


def upload(client: MlflowClient, run_id: str, folder: Path, artifact_path: str) -> None:
    """Log a published task folder as ``artifact_path`` of ``run_id``: every entry, then the
    manifest, so a reader never finds a manifest whose files are not all there yet."""
    for entry in sorted(folder.iterdir()):
        if entry.name == MANIFEST or entry.name.startswith(STAGING_PREFIX):
            continue
        if entry.is_dir():
            client.log_artifacts(run_id, str(entry), f"{artifact_path}/{entry.name}")
        else:
            client.log_artifact(run_id, str(entry), artifact_path)
    client.log_artifact(run_id, str(folder / MANIFEST), artifact_path)


def cache_limit() -> int:
    """The cache's size limit in bytes (``RUNNER_CACHE_MB``)."""
    text = os.environ.get(CACHE_ENV, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_CACHE_MB
    except ValueError:
        raise UserError(f"{CACHE_ENV}={text!r} is not a number of megabytes; set e.g. "
                        f"{CACHE_ENV}=2048 in .env") from None
    return int(max(megabytes, 0) * 1024 * 1024)


def problem_with(output: OutputFolder, recorded: str | None) -> str | None:
    """Why ``output`` may not be used: it does not verify, or (with ``recorded``) its manifest
    is not the one its run recorded. None when it may."""
    if problem := output.problem():
        return problem
    if recorded is not None and output.manifest_digest() != recorded:
        return f"its {MANIFEST} is not the one the run recorded (changed since)"
    return None


def fetch(client: MlflowClient, run: Run, task: str, required: tuple[str, ...] = (),
          recorded: str | None = None, artifact_path: str | None = None
          ) -> tuple[OutputFolder | None, str]:
    """A verified local copy of ``run``'s ``artifact_path`` (default: ``task``) folder.

    ``(folder, "")`` or ``(None, why)``. With ``recorded`` the manifest must also have that
    digest (a pin passes None: the planner compares digests itself, and may accept a mismatch).
    A copy that does not verify is never kept.
    """
    path, run_id = artifact_path or task, run.info.run_id
    target = CACHE_DIR.resolve() / run_id / path
    cached = OutputFolder(target, task, required)
    if target.is_dir():
        if problem_with(cached, recorded) is None:
            return use(cached), ""
        shutil.rmtree(target, ignore_errors=True)  # damaged since: download it again
    staging = CACHE_DIR.resolve() / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        downloaded = download(client, run, path, staging)
        if downloaded is None or not downloaded.is_dir() or not any(downloaded.iterdir()):
            return None, f"run {run_id} has no {path} folder among its artifacts"
        if problem := problem_with(OutputFolder(downloaded, task, required), recorded):
            return None, problem.replace(str(downloaded), f"runs:/{run_id}/{path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(downloaded, target)
        except OSError:  # another runner of this machine cached it meanwhile: check theirs
            if problem_with(cached, recorded) is not None:
                return None, f"{target} changed while it was being cached"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    evict(cache_limit())
    return use(cached), ""


def download(client: MlflowClient, run: Run, path: str, destination: Path) -> Path | None:
    """Download ``path`` (a folder or a file) of ``run``'s artifacts below ``destination``;
    its local path, None when there is no such artifact.

    Through the run's artifact URI, not ``runs:/``: MLflow 3 merges into ``runs:/<id>/<name>``
    the files of the run's logged model called ``<name>`` (the Trainer's), which are not part
    of the output."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        local = Path(mlflow.artifacts.download_artifacts(
            artifact_uri=f"{run.info.artifact_uri.rstrip('/')}/{path}",
            dst_path=str(destination), tracking_uri=client.tracking_uri))
    except (MlflowException, OSError) as error:
        if server_failed(error):  # the partial download in ``destination`` is dropped
            raise UserError(f"the tracking server {redact(client.tracking_uri)} failed while "
                            f"sending run {run.info.run_id}'s {path} ({first_line(error)}); "
                            "check the server (its log, its database), then run again") from None
        return None
    return local if local.exists() else None


def server_failed(error: BaseException) -> bool:
    """True when a download failed because the server erred, stalled or went away (not
    because there is no such artifact)."""
    text = str(error).lower()
    return any(sign in text for sign in SERVER_FAILURES)


def use(output: OutputFolder) -> OutputFolder:
    """Mark a cache entry used now (its mtime orders the eviction) and by this process."""
    with contextlib.suppress(OSError):
        os.utime(output.path)
    _in_use.add(output.path)
    return output


def entries() -> list[Path]:
    """The cache's entries: each ``<run_id>/<Task>`` folder (a pin's path may be deeper)."""
    root = CACHE_DIR.resolve()
    if not root.is_dir():
        return []
    return [entry for run in root.iterdir() if run.is_dir()
            and not run.name.startswith(STAGING_PREFIX) for entry in run.iterdir()
            if entry.is_dir()]


def size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def evict(limit: int) -> list[Path]:
    """Remove least recently used entries until the cache holds at most ``limit`` bytes;
    entries this process uses stay. Returns what was removed. Downloads a killed runner left
    half done go too."""
    from framework.core.lifeline import process_alive

    for staging in CACHE_DIR.resolve().glob(f"{STAGING_PREFIX}*"):
        pid = staging.name.removeprefix(STAGING_PREFIX).partition("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
    sized = sorted(((entry.stat().st_mtime, entry, size_of(entry)) for entry in entries()),
                   key=lambda item: item[0])
    total = sum(size for _, _, size in sized)
    removed = []
    for _, entry, size in sized:
        if total <= limit:
            break
        if entry in _in_use:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(OSError):  # the run's folder, once empty
            entry.parent.rmdir()
        total -= size
        removed.append(entry)
    return removed


def manifest(client: MlflowClient, run: Run, task: str, recorded: str
             ) -> dict[str, Any] | None:
    """Only the manifest of ``run_id``'s ``task`` output, if it is the one the run recorded
    (what the planner needs to explain a new signature, without the files)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = download(client, run, f"{task}/{MANIFEST}", Path(scratch))
        if folder is None or not folder.is_file() or sha256_of(folder) != recorded:
            return None
        try:
            found = json.loads(folder.read_text())
        except ValueError:
            return None
    return found if isinstance(found, dict) else None


def pin_folder(client: MlflowClient, run: Run, task: str, subpath: str, uri: str) -> Path:
    """The local folder for the pin ``uri`` (``runs:/<run_id>[/subpath]``) of a run whose
    artifacts are remote: this machine's own copy when it made the run, else a copy in the
    cache whose files verify against their manifest (the planner checks the rest)."""
    from framework.core.names import output_tag

    path = posixpath.normpath(subpath) if subpath else task
    if path.startswith(("..", "/")):
        raise UserError(f"PathConfig.{task} = {uri!r} leads out of that run's artifacts; name "
                        "a folder inside them, without '..'")
    own = Path(run.data.tags.get(output_tag(task), ""))
    if not subpath and is_own(own) and OutputFolder(own, task).exists():
        return own
    # Another machine's output: with a team key, only the signed manifest it recorded.
    recorded: str | None = run.data.tags.get(manifest_tag(task), "")
    if signing.signing_key() is None:
        recorded = None
    elif refused := signing.refusal(run.info.run_id, run.data.tags, task, recorded or ""):
        raise UserError(f"PathConfig.{task} = {uri!r}: {refused}; name a run a key holder "
                        "made, or remove the pin")
    found, why = fetch(client, run, task, artifact_path=path, recorded=recorded)
    if found is None:
        raise UserError(f"PathConfig.{task} = {uri!r}: that run's output on the server cannot "
                        f"be used: {why}; name a run that finished {task}")
    return found.path
