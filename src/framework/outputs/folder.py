"""Task output folders that are complete only when they verify.

A task writes its files into a hidden staging folder. When it succeeds, the files are moved into
the task's folder and a manifest listing every file with its size and SHA-256 is written last,
atomically. So a folder is complete exactly when its manifest exists and every file still
matches it: a crash, a kill or an exception at any point leaves no complete-looking output.

Verification covers the folder exactly: every listed file present with its size and checksum,
nothing unlisted beside the manifest, and the task's required entries listed. The manifest
itself is vouched for by its digest (``manifest_digest``), which the producing run records as
the tag ``manifest.<Task>``; whoever trusts a folder compares the two (see ``reuse``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import luigi

from framework.core import names

MANIFEST = names.MANIFEST_FILE
STAGING_PREFIX = ".staging-"
MANIFEST_FORMAT = 1
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def list_files(folder: Path) -> list[Path]:
    """Every file below ``folder`` as sorted relative paths, minus staging and the manifest."""
    return sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file()
        and path.name != MANIFEST
        and not path.relative_to(folder).parts[0].startswith(STAGING_PREFIX)
    )


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON to a temporary file beside ``path``, then rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(payload, stream, indent=2, sort_keys=True)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class OutputFolder(luigi.Target):
    """A task's output folder; ``exists()`` means "complete and verified".

    ``task`` is the task family that must have written it; a folder written by another task
    never counts as this task's output.
    """

    def __init__(self, path: Path, task: str, required: Sequence[str] = ()) -> None:
        self.path = path
        self.task = task
        self.required = tuple(required)

    def file(self, name: str) -> Path:
        """Path of one output entry (a file or a sub-folder) inside the folder."""
        return self.path / name

    def manifest(self) -> dict[str, Any] | None:
        """The parsed manifest, or None when there is none or it cannot be read."""
        if entry_problem(self.path, [MANIFEST]):  # a symlink is not read
            return None
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) else None

    def manifest_digest(self) -> str | None:
        """SHA-256 of the manifest's bytes (what the producing run recorded), or None."""
        path = self.path / MANIFEST
        plain = entry_problem(self.path, [MANIFEST]) is None
        return sha256_of(path) if plain and path.is_file() else None

    def problem(self) -> str | None:
        """Why the folder is not a complete output of ``task``, or None when it is."""
        if problem := entry_problem(self.path, [MANIFEST]):
            return problem
        manifest = self.manifest()
        if manifest is None:
            return f"no readable {MANIFEST} in {self.path}"
        if manifest.get(names.MANIFEST_TASK_KEY) != self.task:
            return f"{self.path} holds output of {manifest.get('task')!r}, not {self.task!r}"
        files = manifest.get(names.MANIFEST_FILES_KEY)
        if not isinstance(files, dict):
            return f"{MANIFEST} in {self.path} lists no files"
        # Before any listed file is read: every entry a plain file inside the folder.
        if problem := entry_problem(self.path, files):
            return problem
        unlisted = [str(name) for name in list_files(self.path) if str(name) not in files]
        if unlisted:
            return f"{self.path / unlisted[0]} is not listed in {MANIFEST}"
        if missing := missing_required(self.required, files):
            return f"{self.path} lacks {missing}, which a {self.task} output must hold"
        for name, expected in files.items():
            path = self.path / name
            if not path.is_file():
                return f"{path} is listed in the manifest but missing"
            if (not isinstance(expected, dict) or path.stat().st_size != expected.get("bytes")
                    or sha256_of(path) != expected.get("sha256")):
                return f"{path} does not match its checksum in {MANIFEST}"
        return None

    def exists(self) -> bool:
        return self.problem() is None

    def is_empty(self) -> bool:
        """True when the folder is missing or holds nothing but leftovers of our own staging."""
        if not self.path.is_dir():
            return True
        return all(entry.name.startswith(STAGING_PREFIX) for entry in self.path.iterdir())

    @contextmanager
    def writing(self, record: dict[str, Any], before_publish: Callable[[], None] | None = None
                ) -> Iterator[Path]:
        """Yield an empty staging folder; on success publish its files and the manifest.

        ``record`` is stored in the manifest beside the file list (who wrote it, with what
        parameters). ``before_publish`` may raise to stop the publication at the last moment
        (a worker whose runner is gone). A required entry the task did not write is an error.
        On an exception the staging folder is removed and nothing is published.
        Only an empty folder is ever written: a folder holding anything (an earlier output,
        a pinned one that stopped verifying, a user's files) is refused, never overwritten.
        """
        if not self.is_empty():
            raise FileExistsError(f"{self.path} is not empty; refusing to overwrite it")
        self.path.mkdir(parents=True, exist_ok=True)
        # The writer's pid in the name lets a later sweep tell a dead writer's leftovers.
        staging = self.path / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            yield staging
            if missing := missing_required(self.required, map(str, list_files(staging))):
                raise RuntimeError(f"{self.task} wrote no {missing}, which it must produce")
            if before_publish is not None:
                before_publish()
            self._publish(staging, record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _publish(self, staging: Path, record: dict[str, Any]) -> None:
        """Move staged entries into place, then write the manifest: the commit point."""
        files = {
            str(name): {"bytes": (staging / name).stat().st_size,
                        "sha256": sha256_of(staging / name)}
            for name in list_files(staging)
        }
        for entry in staging.iterdir():
            target = self.path / entry.name
            if target.exists():
                raise FileExistsError(f"{target} appeared while the task ran; not replacing it")
            os.replace(entry, target)
        manifest = {
            **record,
            names.MANIFEST_FORMAT_KEY: MANIFEST_FORMAT,
            names.MANIFEST_TASK_KEY: self.task,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            names.MANIFEST_FILES_KEY: files,
        }
        write_json_atomically(self.path / MANIFEST, manifest)


def entry_problem(folder: Path, names: Iterable[object]) -> str | None:
    """Why one of ``names`` is not a regular file inside ``folder``, or None.

    A manifest entry must be a relative path without ``..`` (so it cannot name a file
    elsewhere, such as ``../../etc/passwd`` or ``/etc/hostname``), and neither it nor a folder
    on its way inside ``folder`` may be a symlink (an identical file outside the project is
    still not this output). Checked from the names and ``lstat`` alone: nothing is read.
    """
    for name in names:
        parts = name.split("/") if isinstance(name, str) else [""]
        if any(part in ("", ".", "..") for part in parts):  # also "/etc/x": parts[0] == ""
            return f"{MANIFEST} in {folder} lists {name!r}, which is not a path inside the folder"
        path = folder
        for part in parts:
            path = path / part
            try:
                mode = path.lstat().st_mode
            except OSError:
                break  # missing: reported as such by the caller
            if stat.S_ISLNK(mode):
                return f"{path} is a symlink; an output holds regular files only"
        else:
            if not stat.S_ISREG(mode):
                return f"{path} is not a regular file"
    return None


def missing_required(required: Sequence[str], files: Iterable[str]) -> str | None:
    """The first required entry (a file, or a folder holding files) absent from ``files``."""
    names = set(files)
    for entry in required:
        entry = entry.strip("/")
        if entry not in names and not any(name.startswith(f"{entry}/") for name in names):
            return entry
    return None


def remove_stale_staging(root: Path, writer_alive: Callable[[int, float], bool] | None
                         ) -> list[Path]:
    """Remove the staging folders a killed writer left in the task folders under ``root``.

    With ``writer_alive`` None every staging folder goes (its run is over); else only those
    for which ``writer_alive(pid, mtime)`` is false: the pid in the name is gone, or is a newer
    process than the folder. A task folder left empty goes too. Returns what was removed.
    """
    removed = []
    for staging in sorted(root.glob(f"*/{STAGING_PREFIX}*")):
        pid = staging.name.removeprefix(STAGING_PREFIX).partition("-")[0]
        if writer_alive is not None and (
                not pid.isdigit() or writer_alive(int(pid), staging.stat().st_mtime)):
            continue
        shutil.rmtree(staging, ignore_errors=True)
        removed.append(staging)
        with contextlib.suppress(OSError):  # not empty: a real output lives there
            staging.parent.rmdir()
    return removed
