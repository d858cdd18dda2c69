"""What the command line asked for, as every step of an experiment or a sweep reads it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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
