"""Launching configurations: what to evaluate next (a ``Sweeper``) apart from how it runs.

The split is Hydra's: a sweeper decides (a grid's next point, a random sample, an Optuna
trial asked from its study) and learns each result; the launcher only runs jobs, in this
process or in N processes forked after the imports, and knows nothing of the command, MLflow
or Luigi. Ask/tell, never blocking batches: the moment a worker finishes (or its trial is
pruned), the sweeper is told and asked for that worker's next job.

Workers are forked processes with one pipe each, and this process starts no thread, so it can
fork when it chooses: with a ``warm_up``, the first worker starts the first job at once and
the others are forked only after ``warm_up`` ran here, on the core the first worker leaves
free. They inherit what it loaded (modules, caches) instead of each loading it again, and by
then the first job has usually published what the others need from it (a grid's shared
Preprocessor), so they find it instead of waiting for its claim.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, Protocol, TypeVar

from framework.core.errors import Interrupted

J = TypeVar("J")  # a job: what one worker evaluates (picklable: it crosses to a fork)
R = TypeVar("R")  # its result
R_in = TypeVar("R_in", contravariant=True)
STOP = None  # sent to a worker: end


class Sweeper(Protocol, Generic[J, R_in]):
    """What to evaluate next, and what came of it."""

    def ask(self) -> J | None:
        """The next job, or None when nothing more should start (jobs may still be running)."""

    def tell(self, job: J, result: R_in) -> None:
        """``job`` ended with ``result``; called in the launching process, in finishing order."""


@dataclass
class _Worker:
    """A forked worker, this process's end of its pipe, and the job it runs (None: idle)."""

    process: BaseProcess
    connection: Connection
    job: Any = None


def launch(sweeper: Sweeper[J, R], run: Callable[[J], R], workers: int,
           broken: Callable[[J, BaseException], R],
           warm_up: Callable[[], None] | None = None) -> Iterator[tuple[J, R]]:
    """Run the sweeper's jobs with ``run``, ``workers`` at a time; yield each (job, result)
    as it ends, after the sweeper was told. ``run`` must catch its own failures (anything it
    raises, e.g. an interruption, is raised here); ``broken`` makes the result of a job whose
    worker process died (a new worker takes its place).

    With one worker the jobs run in this process, and ``warm_up`` is not called. Else in
    forked processes: ``run`` and any state it reads must exist before the first job is
    launched. The first worker is forked before the sweeper is first asked, and without
    ``warm_up`` so are all the others, since a fork copies no thread and must not copy a lock
    one holds (a study's ``ask`` starts its heartbeat). With ``warm_up``, the others are
    forked after the first job was handed out and ``warm_up()`` ran in this process, so the
    first ``ask`` must start no thread.
    """
    if workers == 1:
        while (job := sweeper.ask()) is not None:
            result = run(job)
            sweeper.tell(job, result)
            yield job, result
        return
    pool: list[_Worker] = []
    try:
        _fork(pool, run, 1 if warm_up else workers)
        if warm_up is not None:
            if (first := sweeper.ask()) is None:
                return
            _hand(pool[0], first)
            warm_up()
            _fork(pool, run, workers - 1)
        while True:
            idle = [worker for worker in pool if worker.job is None]
            while idle and (job := sweeper.ask()) is not None:
                _hand(idle.pop(), job)
            busy = [worker for worker in pool if worker.job is not None]
            if not busy:
                break
            for connection in wait([worker.connection for worker in busy]):
                worker = next(w for w in busy if w.connection is connection)
                job, result = worker.job, _result(worker, broken)
                worker.job = None
                if not worker.process.is_alive():
                    pool.remove(worker)
                    _fork(pool, run, 1)
                sweeper.tell(job, result)
                yield job, result
    except BaseException as error:
        _stop(pool, terminate=isinstance(error, Interrupted), timeout=30)
        raise
    finally:  # a generator closed early (the caller stopped) ends its workers too
        _stop(pool, terminate=False, timeout=None)


def _fork(pool: list[_Worker], run: Callable[[Any], Any], count: int) -> None:
    """Fork ``count`` more workers into ``pool``."""
    context = multiprocessing.get_context("fork")
    for _ in range(count):
        mine, theirs = context.Pipe()
        # The child closes every pipe end of this process it inherits, its own included, so
        # that it reads end-of-file once this process is gone.
        inherited = [worker.connection for worker in pool] + [mine]
        process = context.Process(target=_serve, args=(theirs, run, inherited),
                                  name=f"sweep-worker-{len(pool) + 1}")
        process.start()
        theirs.close()
        pool.append(_Worker(process, mine))


def _hand(worker: _Worker, job: Any) -> None:
    """Give ``job`` to an idle worker; a worker that died meanwhile fails it in ``_result``."""
    worker.job = job
    with contextlib.suppress(OSError):  # its pipe reads end-of-file, so wait() returns it
        worker.connection.send(job)


def _result(worker: _Worker, broken: Callable[[Any, BaseException], Any]) -> Any:
    """The result ``worker`` sent back; raises what ``run`` raised there."""
    try:
        ok, value = worker.connection.recv()
    except (EOFError, OSError):
        worker.process.join(timeout=5)
        return broken(worker.job, ChildProcessError(
            f"pid {worker.process.pid} ended with exit code {worker.process.exitcode}"))
    if not ok:
        raise value
    return value


def _stop(pool: list[_Worker], terminate: bool, timeout: float | None) -> None:
    """Tell every worker to end (``terminate``: SIGTERM, for an interruption that reached
    this process only) and wait up to ``timeout`` seconds for each."""
    for worker in pool:
        with contextlib.suppress(OSError):
            worker.connection.send(STOP)
        worker.connection.close()
        if terminate and worker.process.is_alive():
            worker.process.terminate()
    for worker in pool:
        worker.process.join(timeout)
    pool.clear()


def _serve(connection: Connection, run: Callable[[Any], Any],
           inherited: list[Connection]) -> None:
    """A worker: run each job it is sent until told to stop or the launcher is gone."""
    for end in inherited:
        end.close()
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM ends the current job as KILLED
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):  # the launcher is gone, or Ctrl-C
            return
        if job is STOP:
            return
        try:
            reply: tuple[bool, Any] = (True, run(job))
        except BaseException as error:  # an interruption: the launcher raises it
            reply = (False, error)
        try:
            connection.send(reply)
        except (OSError, KeyboardInterrupt):  # the launcher stopped listening
            return
        if not reply[0]:
            return


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(f"signal {signum}")
