"""Claims: two runner processes that need the same new output compute it once.

Before a run starts, every task the plan says to ``run`` is claimed: an exclusive
``fcntl.flock`` on ``mlruns/claims/<signature digest>.lock``. A process that finds a claim
taken waits for it, then plans again; by then the other process has published the output and
recorded its run tags, so the planner's normal reuse finds it. The kernel drops a flock when
its process dies, so a killed runner can never leave a claim stuck.

A claim is released as soon as its task has published its output (Luigi's SUCCESS event, in
whichever process ran the task: forked Luigi workers share the lock's open file description),
and in any case by ``release_all`` when the run ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import luigi

from framework.core.errors import UserError
from framework.core.local_dirs import CLAIMS_DIR

if TYPE_CHECKING:
    from framework.planning.planner import Decision

# Claims this process holds, by signature digest: a second claim of the same digest by the
# same process must not wait for itself (flock locks conflict across open files).
_held: dict[str, int] = {}


def check_folder() -> None:
    """``UserError`` when claims could not be taken in ``CLAIMS_DIR`` (a file in its place,
    no permission). Called while the configuration is checked, before any run exists (a
    sweep takes its claims once its parent run is open)."""
    os.close(_lock_file(".check"))


def _lock_file(digest: str) -> int:
    """An open lock file for ``digest``; ``UserError`` when the claims folder is unusable."""
    try:
        CLAIMS_DIR.mkdir(parents=True, exist_ok=True)
        return os.open(CLAIMS_DIR / f"{digest}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"{CLAIMS_DIR.resolve()} is not a folder; the runner keeps its claims "
                        "there: move that file away") from None
    except OSError as error:
        raise UserError(f"cannot write claims in {CLAIMS_DIR.resolve()} ({error.strerror}); "
                        "make that folder writable for this user") from None


def try_claim(digest: str) -> bool:
    """Take the claim on ``digest`` without waiting; False when another process holds it."""
    if digest in _held:
        return True
    handle = _lock_file(digest)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return False
    _held[digest] = handle
    return True


def wait_for(digest: str) -> None:
    """Block until whoever holds the claim on ``digest`` lets it go (or dies)."""
    handle = _lock_file(digest)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def release(digest: str) -> None:
    handle = _held.pop(digest, None)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


def release_all() -> None:
    for digest in list(_held):
        release(digest)


def claim_outputs(decisions: Sequence[Decision], replan: Callable[[], Sequence[Decision]],
                  published: Callable[[Decision], bool],
                  on_wait: Callable[[str], None] = lambda task: None) -> list[Decision]:
    """Claim every output ``decisions`` will compute; return the plan the claims hold for.

    When a claim is taken by another process, all claims are dropped (so two processes never
    wait for each other), the claim is waited for and the plan is made again (``replan``).
    Once all are held, each claimed output is looked up once more (``published``): another
    process may have published one between the plan and the claim; if so, plan again and
    claim what is left. (Only a published output can turn a planned run into a reuse, so a
    look-up per claim stands in for a whole new plan.)
    """
    current = list(decisions)
    while True:
        wanted = _computed(current)
        busy = next((d for d in wanted if not try_claim(d.signature.digest)), None)
        if busy is None:
            if not any(published(d) for d in wanted):
                return current
            release_all()
            current = list(replan())
            continue
        release_all()
        on_wait(busy.task)
        wait_for(busy.signature.digest)
        current = list(replan())


def _computed(decisions: Sequence[Decision]) -> list[Decision]:
    """The decisions that compute a new output into the run (pinned folders are the user's)."""
    return [d for d in decisions if d.action == "run" and d.folder is None]


@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _release_on_success(task: luigi.Task) -> None:
    """The output is published and the run's tags were recorded before Luigi started."""
    from framework.task.context import current_run

    signature = current_run().signatures.get(task.task_family)
    if signature is not None:
        release(signature.digest)
