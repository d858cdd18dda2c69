"""Shared fixtures: a throw-away copy of the project, with its own git repo and MLflow store.

Every end-to-end test runs the real command, ``python src/runner.py``, in a subprocess inside
such a copy, against the Titanic data the repo ships in ``input/`` (or the folder
``TITANIC_DATA_DIR`` names) and the example datasets under ``examples/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("src", "examples", "luigi.toml", ".env", ".gitignore", "docker-compose.yml")
RAW_FILES = ("train.csv", "test.csv")
# The seed article's luigi.toml, unchanged apart from the experiment name: RidgeClassifier
# (the default estimator) on three numeric columns, and no [Evaluator] section.
SEED_CONFIG = """
[RunConfig]
experiment_name="titanic"
description="概要"
task="Prediction"

[PathConfig]
input="./input/"

[Preprocessor]
train_columns=['PassengerId','Survived', 'Pclass', 'SibSp', 'Parch']
test_columns=['PassengerId','Pclass', 'SibSp', 'Parch']

[Trainer]
seed=0

[Prediction]
"""
# Variables from the developer's shell that would point the copy at another store or config.
LEAKING_VARIABLES = ("MLFLOW_TRACKING_URI", "LUIGI_CONFIG_PATH", "LUIGI_CONFIG_PARSER")


@pytest.fixture(scope="session")
def titanic_dir() -> Path:
    """The folder holding Kaggle's train.csv and test.csv: ``TITANIC_DATA_DIR``, else the
    project's own ``input/``, where the repo ships them. Never skipped: missing data fails."""
    folder = Path(os.environ.get("TITANIC_DATA_DIR") or REPO / "input")
    missing = [name for name in RAW_FILES if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"TITANIC_DATA_DIR={folder} lacks {', '.join(missing)}")
    return folder


@dataclass
class Project:
    """A copy of the project in a temp folder, and ways to run and inspect it."""

    root: Path

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlruns' / 'mlflow.db'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in LEAKING_VARIABLES}
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 240, **env: str
            ) -> subprocess.CompletedProcess[str]:
        """``python src/runner.py ARGS`` in the project, as a user would type it."""
        return subprocess.run(
            [sys.executable, "src/runner.py", *args], cwd=self.root, env=self.env(**env),
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "src/runner.py", *args], cwd=self.root, env=self.env(**env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def runs(self, experiment: str = "titanic") -> list:
        """All runs of ``experiment`` (newest first), read through MLflow's own client."""
        from mlflow.tracking import MlflowClient

        if not (self.root / "mlruns" / "mlflow.db").exists():
            return []
        client = MlflowClient(self.tracking_uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        return list(client.search_runs([found.experiment_id],
                                       order_by=["attributes.start_time DESC"]))

    def all_runs(self) -> list:
        from mlflow.tracking import MlflowClient

        if not (self.root / "mlruns" / "mlflow.db").exists():
            return []
        client = MlflowClient(self.tracking_uri)
        ids = [e.experiment_id for e in client.search_experiments()]
        return list(client.search_runs(ids)) if ids else []

    def write_config(self, text: str, name: str = "luigi.toml") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def add_module(self, name: str, source: str) -> None:
        """A task module of the user's own, importable through ``RunConfig.modules``."""
        (self.root / "src" / f"{name}.py").write_text(source)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True,
                              text=True).stdout.strip()


def copy_project(destination: Path, data: Path) -> Project:
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, destination / name)
    (destination / "mlruns").mkdir()
    (destination / "input").mkdir()
    for name in RAW_FILES:
        shutil.copy2(data / name, destination / "input" / name)
    project = Project(destination)
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("-c", "user.name=Test", "-c", "user.email=test@example.com",
                "commit", "-qm", "initial")
    return project


@pytest.fixture
def project(tmp_path: Path, titanic_dir: Path) -> Project:
    return copy_project(tmp_path / "project", titanic_dir)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a bad-input run prints; fails the test if there is more."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


def task_lines(stdout: str) -> dict[str, Sequence[str]]:
    """The runner's progress lines, grouped by task name."""
    lines: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 2:
            lines.setdefault(parts[0], []).append(" ".join(parts[1:]))
    return lines


def messy_table(n: int = 2000, seed: int = 0) -> Any:
    """A table as users have them (a DataFrame): a row number, a near-unique email, a signup
    date as text, a constant, a city with 60 levels, and the two columns that carry the
    signal (age, signup) for the yes/no ``label``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    days = rng.integers(0, 4 * 365, n)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D")
    score = (age - 50) / 15 + (days - 730) / 400 + rng.normal(0, 1, n)
    emails = [f"user{i}@example.com" for i in rng.permutation(n)]
    emails[5] = emails[6]  # near-unique, not unique
    return pd.DataFrame({
        "row": np.arange(1, n + 1), "email": emails, "signup": signup.strftime("%Y-%m-%d"),
        "plan": "basic", "city": rng.choice([f"city{i:02d}" for i in range(60)], n),
        "age": age, "label": np.where(score > 0, "yes", "no")})


# Cheap tasks for the hardening tests (RunConfig.modules = ["probes"]): no Titanic work.
PROBES = '''
"""Probe tasks: each takes well under a second unless told to sleep."""
import json
import os
import time
from pathlib import Path

import luigi

from framework.run_task import RunTask


class Echo(RunTask):
    endpoint = luigi.Parameter(default="", description="a URI, logged as a parameter")

    def produce(self, out: Path) -> None:
        loaded = "loaded" if os.environ.get("DB_PASSWORD") else "missing"
        (out / "echo.txt").write_text(f"DB_PASSWORD {loaded}")


class Scorer(RunTask):
    required_files = ("metrics.json",)

    def produce(self, out: Path) -> None:
        (out / "metrics.json").write_text(json.dumps({"score": 0.5}))


class Sleeper(RunTask):
    seconds = luigi.FloatParameter(default=120.0, description="how long to work")
    pid_file = luigi.Parameter(default="", description="where to write the worker's pid")

    def produce(self, out: Path) -> None:
        (out / "started.txt").write_text("yes")
        if self.pid_file:
            Path(self.pid_file).write_text(str(os.getpid()))
        time.sleep(self.seconds)
        (out / "done.txt").write_text("done")
'''
PROBE_RUN_CONFIG = """
[RunConfig]
experiment_name = "{experiment}"
description = "{description}"
task = "{task}"
modules = {modules}
"""


def use_probes(project: Project, task: str, experiment: str = "probes",
               description: str = "", modules: Sequence[str] = ("probes",)) -> None:
    """Point the project's luigi.toml at one probe task."""
    if not (project.root / "src" / "probes.py").exists():
        project.add_module("probes", PROBES)
    project.write_config(PROBE_RUN_CONFIG.format(
        experiment=experiment, description=description, task=task,
        modules="[" + ", ".join(f'"{m}"' for m in modules) + "]"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI (``CI=true``) a skipped test fails the run: a green CI must not hide one."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped[:5])
        print(f"\nCI: {len(skipped)} test(s) skipped ({names}); nothing may skip on CI")
        session.exitstatus = 1
