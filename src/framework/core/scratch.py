"""The runner's scratch folder (Luigi's log while the run lasts), inside the project.

In the system temp folder a SIGKILLed runner's ``runner-*/luigi.log`` stayed for ever: nothing
would ever look there again. Here it is ``mlruns/scratch/runner-<pid>-<random>/``; every run
first removes the scratch folders of runners that are gone (the pid in the name is dead, or
belongs to a newer process than the folder), like the orphan sweep does for staging folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from framework.core.lifeline import started_before
from framework.core.local_dirs import SCRATCH_DIR

PREFIX = "runner-"


@contextmanager
def scratch_folder(root: Path = SCRATCH_DIR) -> Iterator[Path]:
    """A new empty folder for this run, removed when the block ends."""
    remove_orphans(root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-", dir=root) as folder:
        yield Path(folder).resolve()


def remove_orphans(root: Path = SCRATCH_DIR) -> list[Path]:
    """Remove the scratch folders under ``root`` whose runner is gone; what was removed."""
    removed = []
    for folder in sorted(root.glob(f"{PREFIX}*")) if root.is_dir() else []:
        pid = folder.name.removeprefix(PREFIX).partition("-")[0]
        try:
            mtime = folder.stat().st_mtime
        except OSError:
            continue  # removed meanwhile
        if pid.isdigit() and started_before(int(pid), mtime):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
