"""Helpers for the verb tests: a small Titanic project (2 folds, 20 trees) and its runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from support.project import Project, copy_project

SMALL = (("folds = 5", "folds = 2"),)  # and the template's 20 trees


def small_project(folder: Path, data: Path) -> Project:
    """The template's experiment with 2 folds, committed."""
    project = copy_project(folder, data)
    config = project.root / "luigi.toml"
    text = config.read_text()
    for old, new in SMALL:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text)
    commit(project, "small")
    return project


def commit(project: Project, message: str) -> None:
    project.git("add", "-A")
    project.git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm",
                message)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def new_run(project: Project, *args: str) -> str:
    """Run the runner; the id of the run it made."""
    out = ok(project.run(*args))
    line = next(line for line in out.splitlines() if line.startswith(("FINISHED run", "run ")))
    return line.split()[1] if line.startswith("run ") else line.split()[2]


PARENT_LINE = re.compile(r"\brun ([0-9a-f]{32}) in experiment")


def new_sweep(project: Project, *args: str) -> str:
    """Run a sweep or study (``args`` hold its ``--sweep`` flags); the id of its parent run."""
    found = PARENT_LINE.search(ok(project.run(*args)))
    assert found is not None
    return found.group(1)


def as_json(project: Project, *args: str) -> Any:
    return json.loads(ok(project.run(*args, "--format", "json")))
