"""The sweep parent's description: every configuration, best first, linked to its run.

The MLflow UI nests a sweep's child runs under the parent (``mlflow.parentRunId``), but a
configuration whose earlier run stands in for it (REUSED) has no child: its run belongs to an
earlier sweep or run. A fully reused sweep would look empty. So the parent's description
(``mlflow.note.content``, rendered as markdown on the run page) lists every configuration with
a link to the run that holds its results, REUSED or not, and links the best one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.names import DESCRIPTION_TAG
from framework.store import ui

if TYPE_CHECKING:
    from framework.store.tracking import TrackedRun


class Outcome(Protocol):
    """What the note reads of ``sweep_report.Outcome`` (which imports this module)."""

    @property
    def index(self) -> int: ...
    @property
    def point(self) -> Mapping[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def run_id(self) -> str | None: ...
    @property
    def metrics(self) -> Mapping[str, float]: ...

SECTION = "#### Configurations"


def run_link(parent: TrackedRun, run_id: str) -> str:
    """``[1a2b3c4d](#/experiments/1/runs/...)``: a markdown link to the run's page."""
    from mlflow.exceptions import MlflowException

    experiment = parent.experiment_id
    with contextlib.suppress(MlflowException):  # a reused run may be in another experiment
        experiment = parent.client.get_run(run_id).info.experiment_id
    return f"[{run_id[:8]}]({ui.run_route(experiment, run_id)})"


def configurations_note(parent: TrackedRun, spec: sweep.SweepSpec,
                        outcomes: Sequence[Outcome], metric: str | None,
                        best: Outcome | None) -> str:
    """The markdown section: the best run, then a table of every configuration."""
    links = {o.run_id: run_link(parent, o.run_id) for o in outcomes if o.run_id}
    lines = [SECTION, ""]
    if best is not None and best.run_id:
        lines += [f"**Best** by {metric} ({spec.goal}): run {links[best.run_id]} "
                  f"({sweep_points.describe(best.point)})", ""]
    keys = list(spec.space)
    lines += ["| # | " + " | ".join(keys) + f" | {metric or 'metric'} | status | run |",
              "|---" * (len(keys) + 4) + "|"]
    for o in outcomes:
        value = o.metrics.get(metric or "")
        shown = f"{value:.4f}" if value is not None else "-"
        cells = [str(o.index + 1), *(str(o.point.get(key)) for key in keys), shown, o.status,
                 links.get(o.run_id or "", "-")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe_parent(parent: TrackedRun, spec: sweep.SweepSpec, outcomes: Sequence[Outcome],
                    metric: str | None, best: Outcome | None) -> None:
    """Append (or replace) the configurations section of the parent's description."""
    current = parent.client.get_run(parent.run_id).data.tags.get(DESCRIPTION_TAG, "")
    description = current.split(SECTION)[0].rstrip()
    note = configurations_note(parent, spec, outcomes, metric, best)
    parent.set_tags({DESCRIPTION_TAG: f"{description}\n\n{note}" if description else note})
