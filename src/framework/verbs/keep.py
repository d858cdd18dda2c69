"""What ``gc`` keeps: pure logic over facts read from the store (no MLflow here).

A run is kept when a rule keeps it (among the newest ``--keep-last`` of its experiment, or
younger than ``--older-than``), when it is outside the experiments gc looks at, when it is
running, when a registered model version or a ``[PathConfig]`` pin names it, when another
runner claims one of its outputs, or when a kept run relies on one of its outputs
(``reused.<Task>``: reused or pinned), transitively. Sweep children follow their parent.
A kept sweep or study parent also keeps every run its results name (``RunFacts.named``: its
best run, the rows of its table, every trial of its study), wherever they are: a rerun of a
sweep or study lists earlier runs that stand in for configurations, and those are often
children of an older parent the rules let go. Everything else in scope goes, deleted runs
included (as ``mlflow gc`` purges them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

DAY_MS = 86_400_000


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    experiment_id: str
    start_time: int  # ms since the epoch
    status: str
    deleted: bool = False
    parent: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)  # task -> run whose output it used
    signatures: Collection[str] = ()  # digests of the outputs it wrote
    named: Mapping[str, str] = field(default_factory=dict)  # run its results name -> how


@dataclass(frozen=True)
class Rules:
    keep_last: int | None = None
    older_than_days: float | None = None
    experiments: Collection[str] | None = None  # None: every experiment

    def problem(self) -> str | None:
        """Why these rules cannot be used, or None."""
        if self.keep_last is None and self.older_than_days is None:
            return ("say what to delete: --keep-last N (keep the N newest runs of each "
                    "experiment) and/or --older-than DAYS")
        if self.keep_last is not None and self.keep_last < 0:
            return f"--keep-last {self.keep_last}: give 0 or more"
        # not ">= 0", rather than "< 0": NaN compares false both ways, and a NaN cutoff made
        # every run "older", so `gc --older-than nan` deleted the whole store.
        if self.older_than_days is not None and not self.older_than_days >= 0:
            return f"--older-than {self.older_than_days:g}: give 0 or more days"
        if self.keep_last == 0 and self.older_than_days is None:
            return ("--keep-last 0 alone would delete every run; keep at least one, or add "
                    "--older-than DAYS")
        return None


@dataclass(frozen=True)
class Decision:
    kept: dict[str, str]  # run id -> why it is kept
    collected: dict[str, str]  # run id -> why it goes


def decide(runs: Sequence[RunFacts], rules: Rules, now_ms: int,
           protected: Mapping[str, str] = {}, claimed: Collection[str] = ()) -> Decision:
    """Split ``runs`` (every run of the store) into kept and collected.

    ``protected`` maps run ids that must stay to why (registered versions, pins); ``claimed``
    holds signature digests another runner is computing right now.
    """
    by_id = {run.run_id: run for run in runs}
    kept: dict[str, str] = {}
    collected: dict[str, str] = {}
    for run_id, why in _by_rules(runs, rules, now_ms, by_id).items():
        (collected if why.startswith("-") else kept)[run_id] = why.lstrip("-")
    for run in runs:
        if run.run_id in kept:
            continue
        reason = (protected.get(run.run_id)
                  or ("running" if run.status == "RUNNING" and not run.deleted else None)
                  or ("another runner claims its output" if set(run.signatures) & set(claimed)
                      else None))
        if reason:
            kept[run.run_id] = reason
    _close_over_needs(kept, by_id)
    return Decision(kept, {k: v for k, v in collected.items() if k not in kept})


def _by_rules(runs: Sequence[RunFacts], rules: Rules, now_ms: int,
              by_id: Mapping[str, RunFacts]) -> dict[str, str]:
    """run id -> reason; a reason starting with "-" means the rules let it go."""
    decided: dict[str, str] = {}
    in_scope = [r for r in runs if rules.experiments is None
                or r.experiment_id in rules.experiments]
    scope_ids = {r.run_id for r in in_scope}
    for run in runs:
        if run.run_id not in scope_ids:
            decided[run.run_id] = "not in the experiments gc was asked to clean"
        elif run.deleted:
            decided[run.run_id] = "-deleted (purged, as mlflow gc does)"
    cutoff = None if rules.older_than_days is None else now_ms - rules.older_than_days * DAY_MS
    tops = [r for r in in_scope if not r.deleted and r.parent not in by_id]
    per_experiment: dict[str, list[RunFacts]] = {}
    for run in sorted(tops, key=lambda r: -r.start_time):
        per_experiment.setdefault(run.experiment_id, []).append(run)
    for ranked in per_experiment.values():
        for rank, run in enumerate(ranked):
            recent = rules.keep_last is not None and rank < rules.keep_last
            young = cutoff is not None and run.start_time >= cutoff
            if recent:
                decided[run.run_id] = f"among the {rules.keep_last} newest of its experiment"
            elif young:
                decided[run.run_id] = f"younger than {rules.older_than_days:g} days"
            else:
                decided[run.run_id] = ("-" + (f"older than {rules.older_than_days:g} days"
                                              if cutoff is not None else
                                              f"not among the {rules.keep_last} newest"))
    for run in in_scope:  # sweep children follow their parent
        if run.run_id not in decided:
            parent = decided.get(run.parent, "")
            decided[run.run_id] = ("-" if parent.startswith("-") else "") + (
                f"a sweep child of run {run.parent[:8]}")
    return decided


def _close_over_needs(kept: dict[str, str], by_id: Mapping[str, RunFacts]) -> None:
    """Keep every run whose output a kept run relies on, or that a kept sweep names, and so
    on."""
    pending = list(kept)
    while pending:
        run = by_id.get(pending.pop())
        if run is None:
            continue
        needed: dict[str, list[str]] = {}
        for task, source in sorted(run.sources.items()):
            needed.setdefault(source, []).append(task)
        reasons = {source: f"kept run {run.run_id[:8]} uses its output of {', '.join(tasks)}"
                   for source, tasks in needed.items()}
        for named, how in run.named.items():
            reasons.setdefault(named, f"kept sweep run {run.run_id[:8]} names it ({how})")
        for source, why in reasons.items():
            if source not in kept and source in by_id:
                kept[source] = why
                pending.append(source)
