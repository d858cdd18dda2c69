"""Helpers for the verb tests: making runs in a project copy and reading what the verbs print."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

from support.project import Project


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
