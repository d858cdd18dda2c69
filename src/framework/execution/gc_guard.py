"""Runners and ``gc`` never overlap where it would lose an output.

A runner holds a shared ``flock`` on ``mlruns/claims/gc.lock`` from the moment it plans until
its run's tags name every output it relies on (``reused.<Task>``, ``output.<Task>``); ``gc``
decides what to delete and deletes it under the exclusive lock. So gc never deletes an output
a runner has just planned to reuse, and a runner never plans with a run gc is deleting. The
kernel drops the lock of a process that dies. Like claims, the lock is per machine.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from framework.core.local_dirs import CLAIMS_DIR

GUARD = "gc.lock"
_held: tuple[int, int] | None = None  # (pid, fd): forked workers take their own


def _open() -> int:
    CLAIMS_DIR.mkdir(parents=True, exist_ok=True)
    return os.open(CLAIMS_DIR / GUARD, os.O_RDWR | os.O_CREAT, 0o644)


def hold_shared() -> None:
    """Take the runner's side of the lock (waits while a gc deletes); idempotent."""
    global _held
    if _held is not None and _held[0] == os.getpid():
        return
    handle = _open()
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        print("  waiting for `runner.py gc` to finish deleting runs", file=sys.stderr,
              flush=True)
        fcntl.flock(handle, fcntl.LOCK_SH)
    _held = (os.getpid(), handle)


def release() -> None:
    """The run's tags are recorded: gc now sees what this run relies on."""
    global _held
    if _held is not None and _held[0] == os.getpid():
        fcntl.flock(_held[1], fcntl.LOCK_UN)
        os.close(_held[1])
    _held = None


@contextmanager
def exclusive() -> Iterator[None]:
    """gc's side: wait until no runner of this machine is between planning and recording."""
    handle = _open()
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for runners that are planning to record their runs", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)
