"""The earlier output a "run" reason compares with: the nearest one that could have been reused.

A reason such as ``parameter Evaluator.folds 5 -> 10`` is only true when it compares with an
output of the same kind of work. An earlier output of the task is *comparable* when it was made
in the same experiment, or read the same raw input bytes, or read the same upstream output as
this one would. Among the comparable ones the nearest is an output of the same experiment
before one of another, then the one with the fewest differences, then the newer. With none
comparable there is no earlier output to speak of: an unrelated experiment's output (another
dataset) says nothing about why this one runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from framework.outputs.signature import Signature, explain


def comparable(earlier: Signature, new: Signature, same_experiment: bool) -> bool:
    """True when ``earlier`` is an output of the same work as ``new`` (see the module)."""
    if same_experiment:
        return True
    shared_input = any(new.inputs.get(name) == digest for name, digest in earlier.inputs.items())
    shared_upstream = any(new.upstream.get(name) == digest
                          for name, digest in earlier.upstream.items())
    return shared_input or shared_upstream


def nearest(candidates: Iterable[tuple[str, Signature]], new: Signature,
            experiment_id: str | None) -> tuple[Signature, list[str]] | None:
    """The nearest comparable earlier signature among ``candidates`` ((experiment id,
    signature), newer first within each experiment) and what differs from it; None when none
    is comparable. ``experiment_id`` None (no experiment to prefer) makes every candidate
    comparable; an experiment that does not exist yet is ``""``, which no candidate is in."""
    best: tuple[tuple[int, int, int], Signature, list[str]] | None = None
    for age, (experiment, earlier) in enumerate(candidates):
        same = experiment_id is None or experiment == experiment_id
        if not comparable(earlier, new, same):
            continue
        changes = explain(earlier, new)
        rank = (0 if same else 1, len(changes), age)
        if best is None or rank < best[0]:
            best = (rank, earlier, changes)
    return None if best is None else (best[1], best[2])
