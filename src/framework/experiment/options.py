"""What the command line asked for, as every step of an experiment or a sweep reads it, and
the argument parser every verb's command line uses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from framework.core.errors import UserError

# Set by ``reproduce`` for the runner it starts: its own arguments (the run being reproduced,
# ``--verify``, the pins it accepts), for advice that repeats the command. An environment
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
    reproduces: str = ""  # REPRODUCES_VARIABLE: the reproduce command that started this run


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our one line (a ``UserError``: exit 2), not the usage
    block. ``command`` names the command in that line (default: ``prog``).

    No prefix matching (``allow_abbrev=False``): ``--worker 2`` is an unknown option, not
    ``--workers 2``, so a typo never silently becomes another option."""

    def __init__(self, *args: Any, command: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.command = command or self.prog

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.command}: {message} ({self.hint(message)}see --help)")

    def hint(self, message: str) -> str:
        """``"did you mean '--workers'? "`` for an unknown option close to a known one."""
        import difflib

        words = message.partition("unrecognized arguments: ")[2].split()
        typed = next((word.split("=")[0] for word in words if word.startswith("--")), "")
        options = {option[2:]: option for option in self._option_string_actions
                   if option.startswith("--")}
        close = difflib.get_close_matches(typed[2:], options, n=1, cutoff=0.6) if typed else []
        return f"did you mean {options[close[0]]!r}? " if close else ""
