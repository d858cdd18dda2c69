"""``reproduce --verify``: the new run's outputs against the original run's manifests.

Every file of every task output is compared by its SHA-256 from the two manifests. Files
known to carry a timestamp or a fresh id (an MLflow model's ``MLmodel``: creation time, model
id) are reported apart. A difference in the run's metrics, or in a file of the tasks the run
was asked for (its predictions and evaluations, tag ``task``), is decisive: exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from framework.core.names import TASK_TAG
from framework.verbs import records

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

TIMESTAMPED = ("MLmodel",)  # file names that differ on every write



@dataclass
class Report:
    identical: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)
    timestamped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # outputs that cannot be compared
    metrics: list[str] = field(default_factory=list)  # "name a -> b"
    decisive: list[str] = field(default_factory=list)


def compare_files(task: str, old: dict[str, dict], new: dict[str, dict], report: Report,
                  decisive: bool) -> None:
    for name in sorted(set(old) | set(new)):
        label = f"{task}/{name}"
        a, b = old.get(name, {}).get("sha256"), new.get(name, {}).get("sha256")
        if a is not None and a == b:
            report.identical.append(label)
        elif PurePosixPath(name).name in TIMESTAMPED and a and b:
            report.timestamped.append(label)
        else:
            report.differ.append(label if a and b else
                                 f"{label} (only in the {'original' if a else 'new'} run)")
            if decisive:
                report.decisive.append(label)


def compare(client: MlflowClient, original: Run, new: Run) -> Report:
    report = Report()
    asked = set(filter(None, original.data.tags.get(TASK_TAG, "").split(",")))
    for task in records.tasks_of(original):
        old = records.manifest_of(client, original, task)
        made = records.manifest_of(client, new, task)
        if old is None or made is None:
            which = "original" if old is None else "new"
            report.missing.append(f"{task} (the {which} output is gone or does not verify)")
            if task in asked:
                report.decisive.append(task)
            continue
        compare_files(task, dict(old.get("files") or {}), dict(made.get("files") or {}),
                      report, decisive=task in asked)
    for name in sorted(set(original.data.metrics) | set(new.data.metrics)):
        a, b = original.data.metrics.get(name), new.data.metrics.get(name)
        if a != b:
            report.metrics.append(f"{name} {a} -> {b}")
            report.decisive.append(name)
    return report


def print_report(report: Report) -> None:
    print(f"verify: {len(report.identical)} files identical")
    for title, items in (("differ", report.differ),
                         ("differ only as expected (they carry a timestamp or id)",
                          report.timestamped),
                         ("not compared", report.missing), ("metrics differ", report.metrics)):
        if items:
            print(f"{title}:\n" + "\n".join(f"  {item}" for item in items))
    if report.decisive:
        print(f"NOT REPRODUCED: {len(report.decisive)} prediction, evaluation or metric "
              "differences")
    else:
        print("reproduced: every prediction and metric is identical")
