"""A Ctrl-C that lands inside a Luigi event callback is not lost.

Luigi's ``Task.trigger_event`` returns when a callback raises KeyboardInterrupt, so a Ctrl-C
that arrived while the runner printed a task's progress line was swallowed and the run went
on (the task it announced ran to its end: a Sleeper slept its 120 s). Real Luigi builds with
the in-process scheduler; the progress printer sends this process a real SIGINT, as a Ctrl-C
landing while it prints would.
"""

from __future__ import annotations

import os
import signal
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
def ctrl_c_on(monkeypatch: pytest.MonkeyPatch):
    """Make the first progress line containing a word send this process SIGINT."""
    said: list[str] = []

    def arm(word: str) -> list[str]:
        def say(text: str) -> None:
            said.append(text)
            if word in text and "SIGINT" not in said:
                said.append("SIGINT")
                os.kill(os.getpid(), signal.SIGINT)

        monkeypatch.setattr(luigi_build, "say", say)
        return said

    return arm


def build(path: Path) -> None:
    luigi_build.execute([Touch(path=str(path))], workers=1, scheduler_url=None)


@pytest.mark.parametrize("word", ["running", "ran "])
def test_a_ctrl_c_in_a_progress_line_ends_the_build(tmp_path: Path, ctrl_c_on, word: str):
    said = ctrl_c_on(word)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "out.txt")
    assert "SIGINT" in said


def test_a_ctrl_c_while_a_reused_task_is_announced_ends_the_build(tmp_path: Path, ctrl_c_on):
    (tmp_path / "out.txt").write_text("earlier")
    said = ctrl_c_on("skipped")
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "out.txt")
    assert "SIGINT" in said


def test_the_handlers_are_put_back_and_nothing_is_held_after_the_build(tmp_path: Path):
    before = {signum: signal.getsignal(signum) for signum in lifeline.DEFERRED_SIGNALS}
    build(tmp_path / "out.txt")
    assert {signum: signal.getsignal(signum) for signum in lifeline.DEFERRED_SIGNALS} == before
    lifeline.raise_held_interrupt()  # nothing held: no raise


def test_a_handler_that_does_not_raise_is_not_turned_into_an_interrupt():
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with lifeline.recording_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            lifeline.raise_held_interrupt()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [signal.SIGTERM]
