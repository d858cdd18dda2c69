"""``diff RUN_A RUN_B``: what differs between two runs, and per task why its output differs.

The per-task verdict uses the signatures the runs recorded (``signature.<Task>``) and the
parts each output's manifest keeps (``signature_parts``), explained in the plan's own words
(``framework.outputs.signature.explain``: ``parameter Trainer.seed 0 -> 1``, ``upstream Trainer
changed``, ``code of titanic/features.py changed``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.names import MANIFEST_SIGNATURE_PARTS_KEY, PLAN_ARTIFACT
from framework.store.sql_reader import Unreadable
from framework.verbs import common, output, records
from framework.verbs.runs import without_tables

if TYPE_CHECKING:
    from framework.verbs.common import AnyRun, Store


@dataclass(frozen=True)
class TaskVerdict:
    task: str
    same: bool
    output_a: str  # the run that made the output run A used ("" when none)
    output_b: str
    why: list[str]


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A TOML document as ``Section.key[.inner]`` -> value text (lists and scalars as TOML-ish
    JSON), so two configs compare key by key."""
    flat: dict[str, str] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = json.dumps(value) if not isinstance(value, str) else value
    return flat


def changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, a's value, b's value) for every key whose values differ (None: absent)."""
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key)]


def metric_rows(a: Mapping[str, float], b: Mapping[str, float]
                ) -> list[tuple[str, float | None, float | None, float | None]]:
    """Every metric of either run with its delta (b - a), differing or not."""
    rows = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        rows.append((key, va, vb, vb - va if va is not None and vb is not None else None))
    return rows


def task_verdict(store: Store, a: AnyRun, b: AnyRun, task: str) -> TaskVerdict:
    from framework.core.names import signature_tag
    from framework.outputs.signature import Signature, explain

    made_a, made_b = records.producer(store, a, task), records.producer(store, b, task)
    ids = (made_a.info.run_id if made_a else "", made_b.info.run_id if made_b else "")
    sig_a, sig_b = a.data.tags.get(signature_tag(task)), b.data.tags.get(signature_tag(task))
    if sig_a is None or sig_b is None:
        which = "A" if sig_b is None else "B"
        return TaskVerdict(task, False, *ids, [f"only run {which} has this task"])
    if sig_a == sig_b:
        return TaskVerdict(task, True, *ids, [])
    parts = [(records.manifest_of(store, run, task) or {}).get(MANIFEST_SIGNATURE_PARTS_KEY)
             for run in (a, b)]
    if not all(isinstance(p, dict) for p in parts):
        gone = [name for name, p in zip("AB", parts, strict=True) if not isinstance(p, dict)]
        return TaskVerdict(task, False, *ids, [
            f"new signature (the output of run {' and '.join(gone)} is gone, so not why)"])
    old, new = (Signature.from_parts(p) for p in parts if isinstance(p, dict))
    return TaskVerdict(task, False, *ids, explain(old, new) or ["new signature"])


def ordered_tasks(store: Store, a: AnyRun, b: AnyRun) -> list[str]:
    """The tasks of both runs in plan order (``plan.txt``), else by name."""
    found = sorted(set(records.tasks_of(a)) | set(records.tasks_of(b)))
    plan = records.read_artifact(store, a, PLAN_ARTIFACT) or ""
    order = [line.split()[0] for line in plan.splitlines() if line.strip()]
    return sorted(found, key=lambda t: (order.index(t) if t in order else len(order), t))


def comparison(project_root: Path, run_a: str, run_b: str) -> dict[str, Any]:
    """``compare`` in the project's store: read without MLflow when it is a sqlite store the
    reader knows and both runs' artifacts are on this machine, else with MlflowClient (which
    also gives every error about the store itself). The result is the same either way."""
    reader = common.open_project_reader(project_root)
    if reader is not None:
        try:
            with reader:
                return compare(reader, run_a, run_b)
        except Unreadable:
            pass  # a remote artifact, or the store locked or changed: MlflowClient answers
    return compare(common.open_project_store(project_root), run_a, run_b)


def compare(store: Store, run_a: str, run_b: str) -> dict[str, Any]:
    """Everything ``diff`` shows, as plain data (also its json form). ``store``: an
    MlflowClient or a ``SqlReader`` (``Unreadable`` when a run's artifacts are remote)."""
    a, b = common.get_run(store, run_a), common.get_run(store, run_b)
    configs = [flatten(records.effective_config(store, run)) for run in (a, b)]
    params = changed(a.data.params, b.data.params)
    every = set(a.data.params) | set(b.data.params)
    kept = set(without_tables([key for key, _, _ in params], every))
    return {
        "run_a": a.info.run_id, "run_b": b.info.run_id,
        "config": [{"key": k, "a": va, "b": vb} for k, va, vb in changed(*configs)],
        "params": [{"key": k, "a": va, "b": vb} for k, va, vb in params if k in kept],
        "metrics": [{"key": k, "a": va, "b": vb, "delta": d}
                    for k, va, vb, d in metric_rows(a.data.metrics, b.data.metrics)],
        "git": [{"key": label, "a": a.data.tags.get(tag), "b": b.data.tags.get(tag)}
                for label, tag in zip(("commit", "branch", "dirty tree"), common.git_tags(),
                                      strict=True)],
        "status": [a.info.status, b.info.status],
        "tasks": [asdict(task_verdict(store, a, b, task))
                  for task in ordered_tasks(store, a, b)],
    }


def task_text(verdict: Mapping[str, Any]) -> str:
    if verdict["same"]:
        if verdict["output_a"] and verdict["output_a"] == verdict["output_b"]:
            return f"same output (made by run {verdict['output_a'][:8]})"
        return "same signature"
    return "; ".join(verdict["why"])


def render(result: dict[str, Any], form: str) -> str | None:
    """The comparison as ``form``; ``table`` prints rich tables and returns None."""
    if form == "json":
        return output.json_text(result)
    a, b = result["run_a"][:8], result["run_b"][:8]
    sections = [
        ("effective config (what differs)", ["key", a, b],
         [[r["key"], r["a"], r["b"]] for r in result["config"]]),
        ("params (what differs)", ["param", a, b],
         [[r["key"], r["a"], r["b"]] for r in result["params"]]),
        ("metrics", ["metric", a, b, "delta"],
         [[r["key"], r["a"], r["b"], r["delta"]] for r in result["metrics"]]),
        ("code", ["", a, b], [[r["key"], r["a"], r["b"]] for r in result["git"]]),
        ("tasks", ["task", "output", "why"],
         [[t["task"], "same" if t["same"] else "different", task_text(t)]
          for t in result["tasks"]]),
    ]
    if form == "csv":
        return output.csv_text([["section", "key", "a", "b", "delta"]] + [
            [title.split(" ")[0], *row] for title, _, rows in sections for row in rows])
    if form == "md":
        return "\n\n".join(f"**{title}**\n\n{output.markdown(columns, rows)}"
                           for title, columns, rows in sections if rows)
    print(f"run A {result['run_a']} ({result['status'][0]})\n"
          f"run B {result['run_b']} ({result['status'][1]})")
    for title, columns, rows in sections:
        if rows:
            output.print_table(title, columns, rows)
        else:
            print(f"{title}: none")
    return None
