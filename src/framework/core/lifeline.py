"""Processes: which are alive, holding signals back (or raising again the ones Luigi swallowed),
and workers that die with their runner.

Luigi runs tasks in processes forked from the runner (``--workers 2`` or more). If the runner is
SIGKILLed, nothing tells them: they would go on writing outputs and logging into a run nobody
will close. ``die_with_runner`` asks Linux to SIGTERM the worker when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and ``ensure_runner_alive`` is the check a worker makes before
it publishes anything, for the platforms (and the race) ``prctl`` does not cover.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from framework.core.errors import Interrupted

DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# Interrupts raised by a signal handler during a Luigi build (``recording_interrupts``). Luigi's
# ``Task.trigger_event`` returns when a callback raises KeyboardInterrupt, so a Ctrl-C that
# landed while a progress line was printed was lost and the announced task ran to its end.
# Recorded as the handler raises, whatever then swallows it; ``raise_held_interrupt`` raises it
# again where Luigi lets it through.
_received: list[KeyboardInterrupt] = []


_owner: int | None = None


def become_owner() -> None:
    """This process owns the run: Luigi's forked workers compare their pid and their
    parent's with it (``in_worker``, ``ensure_runner_alive``)."""
    global _owner
    _owner = os.getpid()


def owner_pid() -> int | None:
    """The pid of the process that owns the run (None before one does)."""
    return _owner


class RunnerGone(RuntimeError):
    """The runner that owns this worker's run has died; the worker must not publish."""


def in_worker() -> bool:
    """True in a process Luigi forked from the runner."""
    owner = owner_pid()
    return owner is not None and os.getpid() != owner


def die_with_runner() -> None:
    """In a forked worker: get SIGTERM when the runner dies (Linux), and stop now if it
    already has. A no-op in the runner itself."""
    if not in_worker():
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    ensure_runner_alive()  # it may have died before prctl took effect


def ensure_runner_alive() -> None:
    """Raise ``RunnerGone`` in a worker whose runner is no longer its parent."""
    if in_worker() and os.getppid() != owner_pid():
        raise RunnerGone(f"the runner (pid {owner_pid()}) is gone; not publishing anything")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def started_before(pid: int, moment: float) -> bool:
    """True when process ``pid`` is alive and older than ``moment`` (so it may have written
    something then); a reused pid belongs to a newer process."""
    if not process_alive(pid):
        return False
    started = start_time(pid)
    # One second of slack: the boot time /proc gives is in whole seconds.
    return started is None or started <= moment + 1  # None: no /proc, trust the pid


def start_time(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds, to within a second), from Linux's
    ``/proc/<pid>/stat``; None where there is no such file. Not ``/proc/<pid>``'s ctime: that
    is when something first looked the process up, so a runner's folders looked older than
    the runner itself and a concurrent runner removed them while it was using them."""
    boot = boot_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        # Field 22 of the file (the 20th after the command name): start time in clock ticks
        # since boot.
        ticks = int(fields[19])
    except (OSError, ValueError, IndexError):
        return None
    return None if boot is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@functools.cache
def boot_time() -> int | None:
    """When this machine booted (epoch seconds, ``btime`` in ``/proc/stat``); None without
    /proc. Read once: cleanups ask for the start time of every folder's writer."""
    try:
        return next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


@contextmanager
def recording_interrupts() -> Iterator[None]:
    """Record, for the block, each KeyboardInterrupt (Ctrl-C, or SIGTERM as ``Interrupted``)
    that a SIGINT or SIGTERM handler raises. Only the main thread runs signal handlers, so
    elsewhere this records nothing."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Python handlers only: a signal left to the system (default, ignored) raises nothing.
    previous: dict[int, Callable[[int, FrameType | None], Any]] = {
        signum: handler for signum in DEFERRED_SIGNALS
        if callable(handler := signal.getsignal(signum))}

    def recording(signum: int, frame: FrameType | None) -> None:
        try:
            previous[signum](signum, frame)
        except KeyboardInterrupt as interrupt:
            _received.append(interrupt)
            raise

    for signum in previous:
        signal.signal(signum, recording)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()


def raise_held_interrupt() -> None:
    """Raise again an interrupt a signal handler raised during the build, if one did: called
    where Luigi lets a KeyboardInterrupt through (a task's ``run``, after ``luigi.build``);
    reaching either means it was swallowed on its way."""
    if _received:
        interrupt = _received[0]
        _received.clear()
        raise interrupt


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block, then raise ``Interrupted`` if one came.

    The mask stops delivery to this thread; the stand-in handlers catch a signal that
    another thread received and Python handed to the main thread.
    """
    arrived: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _: arrived.append(signum))
                for signum in DEFERRED_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        yield
    finally:
        for signum in signal.sigpending() & set(DEFERRED_SIGNALS):
            signal.sigwait({signum})  # taken here, so it never reaches the old handler
            arrived.append(signum)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if arrived:
        raise Interrupted(f"signal {arrived[0]} (while the run was being closed)")
