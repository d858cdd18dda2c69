"""The launcher: jobs in forked workers, the later ones forked after a warm-up they inherit.

Plain functions as jobs: no runner, no store. The workers are real forked processes.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

import pytest

from framework.execution import launcher

WARM: list[str] = []  # what the warm-up loaded, seen by workers forked after it


@dataclass
class ListSweeper:
    """Hands out ``jobs`` in order and records what it was told."""

    jobs: list[int]
    told: list[tuple[int, object]] = field(default_factory=list)

    def ask(self) -> int | None:
        return self.jobs.pop(0) if self.jobs else None

    def tell(self, job: int, result: object) -> None:
        self.told.append((job, result))


def describe(job: int) -> tuple[int, int, bool]:
    """(job, the worker's pid, whether the worker inherited the warm-up)."""
    return job, os.getpid(), bool(WARM)


def broken(job: int, error: BaseException) -> str:
    return f"job {job} broken: {error}"


def test_jobs_run_in_forked_workers_and_later_forks_inherit_the_warm_up() -> None:
    WARM.clear()
    sweeper = ListSweeper(list(range(6)))
    results = dict(launcher.launch(sweeper, describe, 2, broken,
                                   warm_up=lambda: WARM.append("loaded")))
    WARM.clear()
    assert sorted(results) == list(range(6)) and len(sweeper.told) == 6
    pids = {pid for _, pid, _ in results.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    first_pid = results[0][1]
    # The first worker was forked before the warm-up ran; the second after it.
    assert all(warm == (pid != first_pid) for _, pid, warm in results.values())


def test_one_worker_runs_the_jobs_here_and_skips_the_warm_up() -> None:
    sweeper = ListSweeper([1, 2])
    results = dict(launcher.launch(sweeper, describe, 1, broken,
                                   warm_up=lambda: pytest.fail("warmed for one worker")))
    assert {pid for _, pid, _ in results.values()} == {os.getpid()}


def die_on_two(job: int) -> int:
    if job == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return job * 10


def test_a_worker_that_dies_fails_its_job_and_a_new_one_takes_the_rest() -> None:
    sweeper = ListSweeper([1, 2, 3, 4])
    results = dict(launcher.launch(sweeper, die_on_two, 2, broken))
    assert results[1] == 10 and results[3] == 30 and results[4] == 40
    assert str(results[2]).startswith("job 2 broken: pid ") and "exit code -9" in results[2]
    assert not launcher.multiprocessing.active_children()


def interrupted_on_two(job: int) -> int:
    if job == 2:
        raise KeyboardInterrupt
    return job


def test_what_a_job_raises_is_raised_here_and_the_workers_end() -> None:
    with pytest.raises(KeyboardInterrupt):
        for _ in launcher.launch(ListSweeper([1, 2, 3]), interrupted_on_two, 2, broken):
            pass
    assert not launcher.multiprocessing.active_children()
