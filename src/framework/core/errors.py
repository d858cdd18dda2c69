"""Exit codes and the one exception type that means "the user's input is wrong"."""

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum


class ExitCode(IntEnum):
    """What ``python src/runner.py`` returns."""

    OK = 0
    TASK_FAILED = 1
    BAD_INPUT = 2
    INTERRUPTED = 130
    READER_GONE = 141  # stdout's reader stopped reading (128 + SIGPIPE, as the shell reports)


class UserError(Exception):
    """Bad input: a one-line message that names the problem and the fix.

    Raised before any MLflow run exists; the CLI prints it and exits with ``BAD_INPUT``.
    """


class StoreError(Exception):
    """The tracking store failed (or stayed busy past the deadline) while a run was open: a
    one-line message; the CLI prints it and exits with ``TASK_FAILED``."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised as a kind of Ctrl-C: every ``finally`` runs, the run ends KILLED, and
    Luigi re-raises it instead of recording a task failure."""


class TrialPruned(Exception):
    """Raised by ``RunTask.report_progress`` when the trial of an adaptive search that this run
    belongs to should stop (its pruner said so). The task publishes nothing; the run records the
    trial as pruned, which is not a failure."""


@contextmanager
def reported_as_user_error(prefix: str) -> Iterator[None]:
    """Turn the ``ValueError``s that plain ML functions raise for bad settings into
    ``UserError``s, so they reach the user as one line with exit code 2."""
    try:
        yield
    except ValueError as error:
        raise UserError(f"{prefix}: {error}") from None


def stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (the kernel reports POLLERR on
    its end): a ``BrokenPipeError`` from anything else (a socket, a child's pipe) is a real
    error, not a ``| head``."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):  # no stdout to look at
        return False


def reader_gone(code: int = 0) -> int:
    """stdout's reader has gone (``runs | head -1``): what is left of the output goes to
    /dev/null (the Python docs' handling of ``BrokenPipeError``, so no later flush fails) and
    the exit is quiet: ``code`` when the command had already failed, else the code a Unix tool
    killed by SIGPIPE gets from the shell. SIGPIPE itself stays ignored: a closed socket must
    not kill the process."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return code or ExitCode.READER_GONE


def reader_aware(command: Callable[[], int]) -> int:
    """``command()``'s exit code, stdout flushed; when stdout's reader has gone on the way
    (``runs | head -1``), a quiet ``reader_gone`` instead of a traceback, keeping the code of a
    command that had already failed (``runner | head -3`` must not hide a failed task)."""
    try:
        code = command()
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        return reader_gone()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        return reader_gone(code)
    return code
