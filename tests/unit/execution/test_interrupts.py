"""A Ctrl-C that lands inside a Luigi event callback is not lost.

Luigi's ``Task.trigger_event`` returns when a callback raises KeyboardInterrupt, so a Ctrl-C
that arrived while the runner printed a task's progress line was swallowed and the run went
on (the task it announced ran to its end: a Sleeper slept its 120 s). Real Luigi builds with
the in-process scheduler; the progress printer is made to be interrupted, as a signal landing
in it would.
"""

from __future__ import annotations

from pathlib import Path

import luigi
import pytest

from framework.core import lifeline
from framework.execution import luigi_build


class Touch(luigi.Task):
    """Writes its file; whether it ran is whether the file exists."""

    path = luigi.Parameter(description="the file to write")

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(self.path)

    def run(self) -> None:
        Path(self.path).write_text("ran")


@pytest.fixture
def interrupted_on(monkeypatch: pytest.MonkeyPatch):
    """Make the progress line containing a word raise KeyboardInterrupt, once."""
    said: list[str] = []

    def arm(word: str) -> list[str]:
        def say(text: str) -> None:
            said.append(text)
            if word in text and not any("interrupted" in line for line in said):
                said.append("interrupted")
                raise KeyboardInterrupt

        monkeypatch.setattr(luigi_build, "say", say)
        return said

    yield arm
    lifeline._held.clear()  # nothing left for the next test, whatever happened


@pytest.mark.parametrize("word", ["running", "ran "])
def test_a_ctrl_c_in_a_progress_line_ends_the_build(tmp_path: Path, interrupted_on, word: str):
    said = interrupted_on(word)
    with pytest.raises(KeyboardInterrupt):
        luigi_build.execute([Touch(path=str(tmp_path / "out.txt"))], workers=1,
                            scheduler_url=None)
    assert "interrupted" in said


def test_a_ctrl_c_while_a_reused_task_is_announced_ends_the_build(tmp_path: Path,
                                                                   interrupted_on):
    (tmp_path / "out.txt").write_text("earlier")
    said = interrupted_on("skipped")
    with pytest.raises(KeyboardInterrupt):
        luigi_build.execute([Touch(path=str(tmp_path / "out.txt"))], workers=1,
                            scheduler_url=None)
    assert "interrupted" in said


def test_a_kept_interrupt_is_raised_once() -> None:
    kept = lifeline.keeping_interrupts(lambda: (_ for _ in ()).throw(KeyboardInterrupt("x")))
    kept()  # what Luigi would have swallowed
    with pytest.raises(KeyboardInterrupt, match="x"):
        lifeline.raise_held_interrupt()
    lifeline.raise_held_interrupt()  # nothing held any more: no raise
