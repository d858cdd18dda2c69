"""Where the current run's task outputs live, shared by the runner and the tasks it schedules.

The runner activates one ``RunContext`` before handing tasks to Luigi. Luigi's worker processes
are forked from the runner, so they inherit it; tasks never look at MLflow's global active run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from framework.core import lifeline
from framework.search.trial import TrialRef

if TYPE_CHECKING:
    from framework.outputs.signature import Signature


@dataclass(frozen=True)
class RunContext:
    """The run tasks write for. ``artifact_dir`` is None while the runner is only planning.

    ``locations`` names the folders of tasks that do not write into this run's artifacts
    (pinned by ``[PathConfig]`` or reused from an earlier run); ``signatures`` holds each
    planned task's signature, which its manifest records. ``upload``: the run's artifacts are
    remote, so each task uploads its folder once published. ``work_ids``: the tasks whose work
    is shared with other runners through Luigi's central scheduler, by signature digest
    (``framework.execution.shared_work``). ``trial``: the adaptive-search trial this run
    evaluates, whose pruner ``RunTask.report_progress`` consults.
    """

    tracking_uri: str
    input_dir: Path
    locations: Mapping[str, Path] = field(default_factory=dict)
    artifact_dir: Path | None = None
    signatures: Mapping[str, Signature] = field(default_factory=dict)
    upload: bool = False
    work_ids: Mapping[str, str] = field(default_factory=dict)
    trial: TrialRef | None = None  # set when the run is a trial of an adaptive search

    def output_dir(self, task: str) -> Path:
        """The task's pinned or reused folder, else ``<run artifacts>/<task>/``."""
        if task in self.locations:
            return self.locations[task]
        if self.artifact_dir is None:
            raise RuntimeError(f"{task}'s output folder is only known once the run has started")
        return self.artifact_dir / task


_active: RunContext | None = None


def activate(context: RunContext) -> None:
    """Make ``context`` the one every task of this process (and its forks) resolves against;
    this process becomes the run's owner (``lifeline.owner_pid``)."""
    global _active
    _active = context
    lifeline.become_owner()


def current_run() -> RunContext:
    """The active context; tasks must be run through ``src/runner.py``."""
    if _active is None:
        raise RuntimeError("no active run: start tasks with `python src/runner.py`")
    return _active
