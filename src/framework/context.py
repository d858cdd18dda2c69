"""Where the current run's task outputs live, shared by the runner and the tasks it schedules.

The runner activates one ``RunContext`` before handing tasks to Luigi. Luigi's worker processes
are forked from the runner, so they inherit it; tasks never look at MLflow's global active run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunContext:
    """The run tasks write for. ``artifact_dir`` is None while the runner is only planning."""

    tracking_uri: str
    input_dir: Path
    pins: Mapping[str, Path] = field(default_factory=dict)
    artifact_dir: Path | None = None

    def output_dir(self, task: str) -> Path:
        """``[PathConfig].<task>`` when set, else ``<run artifacts>/<task>/``."""
        if task in self.pins:
            return self.pins[task]
        if self.artifact_dir is None:
            raise RuntimeError(f"{task}'s output folder is only known once the run has started")
        return self.artifact_dir / task


_active: RunContext | None = None


def activate(context: RunContext) -> None:
    """Make ``context`` the one every task of this process (and its forks) resolves against."""
    global _active
    _active = context


def current_run() -> RunContext:
    """The active context; tasks must be run through ``src/runner.py``."""
    if _active is None:
        raise RuntimeError("no active run: start tasks with `python src/runner.py`")
    return _active
