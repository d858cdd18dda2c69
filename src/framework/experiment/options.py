"""What the command line asked for, as every step of an experiment or a sweep reads it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Set by ``reproduce`` for the runner it starts: the run being reproduced. An environment
# variable, not an option, because that runner may be a checkout of an older commit, whose
# command line would refuse an option it does not know.
REPRODUCES_VARIABLE = "RUNNER_REPRODUCES"


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    config: Path | None = None
    tasks: Sequence[str] = ()
    overrides: Sequence[str] = ()
    workers: int | None = None
    scheduler_url: str | None = None
    verbose: bool = False
    dry_run: bool = False
    force: Sequence[str] = ()
    accept_pins: Sequence[str] = ()
    reuse: bool = True
    sweeps: Sequence[str] = ()  # --sweep 'Task.param=[...]'
