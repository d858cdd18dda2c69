"""Machines of a team, for tests: project clones that share nothing but the servers' URLs.

Each machine is a copy of the project in its own temp folder, with its own git repo, mlruns/
and cache; its ``.env`` names the team's tracking server, as a team's would. A machine can be
watched: an audit hook (``sitecustomize``) in its runner processes records every path they
open or list under folders they must not touch (another machine's).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from framework.outputs.folder import MANIFEST, OutputFolder, sha256_of
from support.project import Project, copy_project
from support.servers import postgres_reachable
from support.warm import WarmProcess

SITECUSTOMIZE = '''
import os, sys
_roots = [r for r in os.environ.get("TEAM_FORBIDDEN", "").split(os.pathsep) if r]
if _roots:
    _log = os.open(os.environ["TEAM_OPENED_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    def _hook(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args:
            path = args[0]
            if isinstance(path, (str, bytes, os.PathLike)):
                path = os.fsdecode(path)
                if any(path.startswith(root) for root in _roots):
                    os.write(_log, (event + " " + path + "\\n").encode())
    sys.addaudithook(_hook)
'''


def require_postgres() -> None:
    """Skip when the machine has no PostgreSQL (on CI a skip fails the run: conftest.py)."""
    if not postgres_reachable():
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (apt-get install postgresql)")


@dataclass
class Machine:
    """One team member's clone of the project."""

    project: Project
    server: str
    forbidden: list[Path] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.project.root

    def _env(self) -> dict[str, str]:
        hooks = self.root.parent / "hooks"
        hooks.mkdir(exist_ok=True)
        (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
        path = os.pathsep.join(p for p in (str(hooks), os.environ.get("PYTHONPATH")) if p)
        return {"PYTHONPATH": path, "TEAM_OPENED_LOG": str(self.opened_log),
                "TEAM_FORBIDDEN": os.pathsep.join(str(p) for p in self.forbidden)}

    @property
    def opened_log(self) -> Path:
        return self.root.parent / "opened.log"

    def opened_elsewhere(self) -> list[str]:
        """Paths under the forbidden folders this machine's runners opened or listed."""
        return self.opened_log.read_text().splitlines() if self.opened_log.exists() else []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.project.run(*args, **self._env())

    def start(self, *args: str) -> subprocess.Popen[str] | WarmProcess:
        return self.project.start(*args, **self._env())


def make_machine(folder: Path, data: Path, server: str, config: str,
                 modules: dict[str, str] | None = None) -> Machine:
    """A clone in ``folder`` whose committed ``.env`` points at ``server`` (the one line a
    team changes) and whose ``luigi.toml`` is ``config``."""
    project = copy_project(folder / "project", data)
    env = project.root / ".env"
    env.write_text("".join(
        f"MLFLOW_TRACKING_URI={server}\n" if line.startswith("MLFLOW_TRACKING_URI=") else line
        for line in env.read_text().splitlines(keepends=True)))
    project.write_config(config)
    for name, source in (modules or {}).items():
        project.add_module(name, source)
    project.git("add", "-A")
    project.git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm",
                "team setup")
    return Machine(project, server)


def remote_problem(client, run_id: str, task: str, scratch: Path) -> str | None:
    """Download ``task``'s artifacts of ``run_id`` and say why they are not a complete output
    (files against the manifest, the manifest against the run's ``manifest.<Task>`` tag)."""
    recorded = client.get_run(run_id).data.tags.get(f"manifest.{task}")
    if not recorded:
        return f"run {run_id} recorded no manifest for {task}"
    folder = Path(client.download_artifacts(run_id, task, str(scratch)))
    if problem := OutputFolder(folder, task).problem():
        return problem
    if sha256_of(folder / MANIFEST) != recorded:
        return "manifest digest differs from the recorded one"
    return None


def server_file(artifacts: Path, run_id: str, relative: str) -> Path:
    """Where the server keeps an artifact of ``run_id`` (``--artifacts-destination``)."""
    (found,) = artifacts.glob(f"*/{run_id}/artifacts/{relative}")
    return found


def rewrite_consistently(artifacts: Path, run_id: str, task: str, name: str) -> None:
    """Change a file of a remote output AND its manifest entry, as a careful forger would:
    the files verify against the manifest; only the recorded digest can tell."""
    target = server_file(artifacts, run_id, f"{task}/{name}")
    target.write_text(target.read_text() + "forged\n")
    manifest_path = server_file(artifacts, run_id, f"{task}/{MANIFEST}")
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][name] = {"bytes": target.stat().st_size, "sha256": sha256_of(target)}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
