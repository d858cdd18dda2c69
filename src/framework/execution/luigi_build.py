"""Running a task DAG with Luigi: one progress line per task, Luigi's chatter in a log file."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import luigi
from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

from framework.core import names
from framework.core.errors import TrialPruned, UserError
from framework.core.lifeline import raise_held_interrupt, recording_interrupts
from framework.outputs.folder import OutputFolder

T = TypeVar("T", bound=luigi.Task)
# When each task started, by task id; tasks run where their START and SUCCESS events fire.
_started: dict[str, float] = {}
# Tasks already reported complete. ``luigi.build`` adds each root separately and each
# ``Worker.add`` walks the DAG with its own "seen" set, so a task shared by two roots (the
# Preprocessor under Evaluator and Prediction) fires DEPENDENCY_PRESENT once per root.
_announced: set[str] = set()

FAILED_STATUSES = {
    LuigiStatusCode.FAILED,
    LuigiStatusCode.FAILED_AND_SCHEDULING_FAILED,
    LuigiStatusCode.SCHEDULING_FAILED,
    LuigiStatusCode.NOT_RUN,
    LuigiStatusCode.MISSING_EXT,
}


def already_announced(tasks: Iterable[luigi.Task]) -> None:
    """Say nothing more about ``tasks``: they ran in an earlier build of this run (a trial's
    first stage), and a later build reports them as already complete."""
    _announced.update(task.task_id for task in tasks)


def say(text: str) -> None:
    print(text, flush=True)


def folder_of(task: luigi.Task) -> str:
    output = task.output()
    return str(output.path) if isinstance(output, OutputFolder) else ""


def producer_run(task: luigi.Task) -> str | None:
    """The run that wrote a complete task's folder, read from its manifest."""
    output = task.output()
    manifest = output.manifest() if isinstance(output, OutputFolder) else None
    return str(manifest.get(names.MANIFEST_RUN_KEY)) if manifest else None


@luigi.Task.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _on_complete(task: luigi.Task) -> None:
    if task.task_id in _announced:
        return
    _announced.add(task.task_id)
    source = producer_run(task)
    mine = source == getattr(task, "run_id", None)
    origin = "complete" if mine or source is None else f"reused from run {source}"
    say(f"  {task.task_family:<14} skipped  {origin}: {folder_of(task)}")


@luigi.Task.event_handler(luigi.Event.START)
def _on_start(task: luigi.Task) -> None:
    _started[task.task_id] = time.monotonic()
    say(f"  {task.task_family:<14} running")


@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _on_success(task: luigi.Task) -> None:
    seconds = time.monotonic() - _started.pop(task.task_id, time.monotonic())
    say(f"  {task.task_family:<14} ran      {seconds:.1f}s -> {folder_of(task)}")


@luigi.Task.event_handler(luigi.Event.FAILURE)
def _on_failure(task: luigi.Task, error: BaseException) -> None:
    if isinstance(error, TrialPruned):  # the search stopped the trial: not an error
        say(f"  {task.task_family:<14} pruned   {error}")
        return
    message = str(error).strip().splitlines()
    detail = message[-1] if message else type(error).__name__
    say(f"  {task.task_family:<14} FAILED   {type(error).__name__}: {detail}")


def configure_logging(log_file: Path, verbose: bool) -> None:
    """Send Luigi's (and everything else's) log records to ``log_file``; to stderr if verbose."""
    handlers: list[logging.Handler] = [logging.FileHandler(log_file)]
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.DEBUG,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)  # library warnings belong in the log, not on the terminal
    # MLflow prints its own warnings straight to stderr; route them to the log like the rest.
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_logger.handlers.clear()
    mlflow_logger.propagate = True
    # These libraries log at DEBUG by the hundreds; their warnings are enough.
    for noisy in ("alembic", "sqlalchemy", "urllib3", "matplotlib", "git", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def execute(roots: Sequence[luigi.Task], workers: int | None, scheduler_url: str | None
            ) -> LuigiRunResult:
    """Run ``roots`` and their upstream tasks; the caller reads ``status`` for success.

    Without ``scheduler_url`` Luigi's in-process scheduler is used; with it, tasks another
    runner was granted are waited for (``framework.execution.shared_work``). The process lock is
    off: Luigi keys it on the command line, so a second identical run would silently do nothing.
    """
    options: dict[str, object] = {"no_lock": True}
    if workers is not None:  # else [core] workers from the config, or Luigi's 1
        options["workers"] = workers
    if scheduler_url:
        options["scheduler_url"] = scheduler_url
    else:
        options["local_scheduler"] = True

    def build() -> LuigiRunResult:
        result = luigi.build(list(roots), detailed_summary=True, **options)
        raise_held_interrupt()  # a Ctrl-C Luigi swallowed (it drops one in event callbacks)
        return result

    with recording_interrupts():
        result = build()
        if scheduler_url:  # shared tasks another runner was granted: wait for them, then adopt
            from framework.execution import shared_work as shared
            result = shared.until_complete(roots, result, build, FAILED_STATUSES, say)
    return result


def succeeded(result: LuigiRunResult) -> bool:
    return result.status not in FAILED_STATUSES


def check_scheduler(url: str) -> None:
    """Fail fast, before a run exists, when luigid is not there (Luigi itself waits ~60 s).

    Only http(s) URLs are luigid's; anything else (``file:``, ``ftp:``) is refused unread.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    if urllib.parse.urlparse(url).scheme not in ("http", "https") or "\n" in url:
        raise UserError(f"--scheduler-url {url!r}: luigid is reached over http(s), e.g. "
                        "http://127.0.0.1:8082; fix the URL or drop the option")
    try:
        with urllib.request.urlopen(url, timeout=5):
            return
    except urllib.error.HTTPError:
        return  # something answers; Luigi will tell if it is not a scheduler
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise UserError(f"--scheduler-url {url}: no scheduler answers ({error}); start luigid "
                        "(docker compose --profile scheduler up) or drop the option") from None
