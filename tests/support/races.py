"""Processes released together by a barrier, to lose real races (first creation of a store)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from typing import Any


def _attempt(action: Callable[..., object], barrier: Barrier, results: multiprocessing.Queue,
             prepare: Callable[[], Any] | None) -> None:
    ready = () if prepare is None else (prepare(),)
    barrier.wait()
    try:
        action(*ready)
        results.put("ok")
    except BaseException as error:  # the test shows whatever a process met
        results.put(f"{type(error).__name__}: {error}")


def race(action: Callable[..., object], processes: int,
         prepare: Callable[[], Any] | None = None) -> list[str]:
    """What each of ``processes`` forked processes met calling ``action`` at the same moment:
    ``"ok"``, or the error it raised. With ``prepare``, each process first calls it (before the
    barrier, so its cost does not spread the start) and hands its result to ``action``."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    forked = [context.Process(target=_attempt, args=(action, barrier, results, prepare))
              for _ in range(processes)]
    for process in forked:
        process.start()
    outcomes = [results.get(timeout=120) for _ in forked]
    for process in forked:
        process.join(timeout=30)
    return outcomes
