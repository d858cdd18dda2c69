"""Processes released together by a barrier, to lose real races (first creation of a store)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier


def _attempt(action: Callable[[], object], barrier: Barrier,
             results: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        action()
        results.put("ok")
    except BaseException as error:  # the test shows whatever a process met
        results.put(f"{type(error).__name__}: {error}")


def race(action: Callable[[], object], processes: int) -> list[str]:
    """What each of ``processes`` forked processes met calling ``action`` at the same moment:
    ``"ok"``, or the error it raised."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    forked = [context.Process(target=_attempt, args=(action, barrier, results))
              for _ in range(processes)]
    for process in forked:
        process.start()
    outcomes = [results.get(timeout=120) for _ in forked]
    for process in forked:
        process.join(timeout=30)
    return outcomes
