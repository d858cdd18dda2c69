"""Exit codes and the one exception type that means "the user's input is wrong"."""

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum


class ExitCode(IntEnum):
    """What ``python src/runner.py`` returns."""

    OK = 0
    TASK_FAILED = 1
    BAD_INPUT = 2
    INTERRUPTED = 130


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
