"""Launching configurations: what to evaluate next (a ``Sweeper``) apart from how it runs.

The split is Hydra's: a sweeper decides (a grid's next point, a random sample, an Optuna
trial asked from its study) and learns each result; the launcher only runs jobs, in this
process or in N processes forked after the imports, and knows nothing of the command, MLflow
or Luigi. Ask/tell, never blocking batches: the moment a worker finishes (or its trial is
pruned), the sweeper is told and asked for that worker's next job.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, Protocol, TypeVar

from framework.core.errors import Interrupted

J = TypeVar("J")  # a job: what one worker evaluates (picklable: it crosses to a fork)
R = TypeVar("R")  # its result
R_in = TypeVar("R_in", contravariant=True)


class Sweeper(Protocol, Generic[J, R_in]):
    """What to evaluate next, and what came of it."""

    def ask(self) -> J | None:
        """The next job, or None when nothing more should start (jobs may still be running)."""

    def tell(self, job: J, result: R_in) -> None:
        """``job`` ended with ``result``; called in the launching process, in finishing order."""


def launch(sweeper: Sweeper[J, R], run: Callable[[J], R], workers: int,
           broken: Callable[[J, BaseException], R]) -> Iterator[tuple[J, R]]:
    """Run the sweeper's jobs with ``run``, ``workers`` at a time; yield each (job, result)
    as it ends, after the sweeper was told. ``run`` must catch its own failures; ``broken``
    makes the result of a job whose worker process died.

    With one worker the jobs run in this process. Else in forked processes: ``run`` and any
    state it reads must exist before the first job is launched.
    """
    if workers == 1:
        while (job := sweeper.ask()) is not None:
            result = run(job)
            sweeper.tell(job, result)
            yield job, result
        return
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"), _worker_started)
    running: dict[Future[R], J] = {}
    try:
        # Fork every worker now, before the sweeper's first ask may start a thread (a study's
        # heartbeat): a fork copies no thread, and must not copy a lock one holds.
        pool.submit(int).result()
        while True:
            while len(running) < workers and (job := sweeper.ask()) is not None:
                running[pool.submit(run, job)] = job
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as error:  # a worker was killed: its job failed
                    result = broken(job, error)
                sweeper.tell(job, result)
                yield job, result
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                for future, job in list(running.items()):  # the pool is unusable: end the rest
                    running.pop(future)
                    result = broken(job, BrokenProcessPool("a worker process died"))
                    sweeper.tell(job, result)
                    yield job, result
                pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"),
                                           _worker_started)
    except BaseException as error:
        pool.shutdown(wait=False, cancel_futures=True)
        if isinstance(error, Interrupted):  # SIGTERM reached this process only: pass it on
            for process in multiprocessing.active_children():
                process.terminate()
        for process in multiprocessing.active_children():
            process.join(timeout=30)
        raise
    pool.shutdown()


def _worker_started() -> None:
    """In a forked worker: SIGTERM ends the current job as KILLED."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(f"signal {signum}")
