"""Task output folders that are complete only when they verify.

A task writes its files into a hidden staging folder. When it succeeds, the files are moved into
the task's folder and a manifest listing every file with its size and SHA-256 is written last,
atomically. So a folder is complete exactly when its manifest exists and every file still
matches it: a crash, a kill or an exception at any point leaves no complete-looking output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import luigi

MANIFEST = "_manifest.json"
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

    def __init__(self, path: Path, task: str) -> None:
        self.path = path
        self.task = task

    def file(self, name: str) -> Path:
        """Path of one output entry (a file or a sub-folder) inside the folder."""
        return self.path / name

    def manifest(self) -> dict[str, Any] | None:
        """The parsed manifest, or None when there is none or it cannot be read."""
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) else None

    def problem(self) -> str | None:
        """Why the folder is not a complete output of ``task``, or None when it is."""
        manifest = self.manifest()
        if manifest is None:
            return f"no readable {MANIFEST} in {self.path}"
        if manifest.get("task") != self.task:
            return f"{self.path} holds output of {manifest.get('task')!r}, not {self.task!r}"
        for name, expected in manifest.get("files", {}).items():
            path = self.path / name
            if not path.is_file():
                return f"{path} is listed in the manifest but missing"
            if path.stat().st_size != expected["bytes"] or sha256_of(path) != expected["sha256"]:
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
    def writing(self, record: dict[str, Any]) -> Iterator[Path]:
        """Yield an empty staging folder; on success publish its files and the manifest.

        ``record`` is stored in the manifest beside the file list (who wrote it, with what
        parameters). On an exception the staging folder is removed and nothing is published.
        Only an empty folder is ever written: a folder holding anything (an earlier output,
        a pinned one that stopped verifying, a user's files) is refused, never overwritten.
        """
        if not self.is_empty():
            raise FileExistsError(f"{self.path} is not empty; refusing to overwrite it")
        self.path.mkdir(parents=True, exist_ok=True)
        staging = self.path / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            yield staging
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
            "format": MANIFEST_FORMAT,
            "task": self.task,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
        }
        write_json_atomically(self.path / MANIFEST, manifest)
