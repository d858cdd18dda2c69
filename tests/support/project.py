"""A throw-away copy of the project, and ways to run and inspect it, for end-to-end tests.

Every end-to-end test runs the real command, ``python src/runner.py``, in a process of its own
inside such a copy (most in a fork of a warm interpreter: ``support/warm.py``), against the
Titanic data the repo ships in ``input/`` (or the folder ``TITANIC_DATA_DIR`` names) and the
example datasets under ``examples/``. The copy is made
from a template built once per test process (files, ``mlruns/``, a git repo with one commit),
so a test pays one directory copy, not a copy plus three git commands. The template is made
cheap where nothing a test checks depends on it: its luigi.toml fits 20 trees instead of 200
and cross-validates on 2 folds instead of 5 (``Project.use_shipped_config`` puts the shipped
file back, for tests of the shipped results),
its ``src/`` is compiled to bytecode and its store exists already, created by the runner's own
``open_store`` (``Project.remove_store`` for tests of a missing store).
"""

from __future__ import annotations

import atexit
import compileall
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from support import warm

REPO = Path(__file__).resolve().parents[2]
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
SHIPPED_CONFIG = (REPO / "luigi.toml").read_text(encoding="utf-8")
# The template's changes to the shipped experiment: a tenth of the trees, 2 folds.
TEMPLATE_EDITS = (("n_estimators = 200", "n_estimators = 20"), ("folds = 5", "folds = 2"))
# Variables from the developer's shell that would point the copy at another store or config.
LEAKING_VARIABLES = ("MLFLOW_TRACKING_URI", "LUIGI_CONFIG_PATH", "LUIGI_CONFIG_PARSER")


@dataclass
class Project:
    """A copy of the project in a temp folder, and ways to run and inspect it."""

    root: Path
    # True: ``run`` and ``start`` start a fresh interpreter (tests of how the command starts,
    # and of signals sent to it).
    cold: bool = False

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlruns' / 'mlflow.db'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in LEAKING_VARIABLES}
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 240, **env: str
            ) -> subprocess.CompletedProcess[str]:
        """``python src/runner.py ARGS`` in the project, as a user would type it: in a fork of
        the warm interpreter (``support/warm.py``) unless the project is ``cold`` or ``env``
        sets a variable the interpreter reads as it starts (``PYTHONPATH`` apart)."""
        argv = [sys.executable, "src/runner.py", *args]
        if not self.cold and warm.usable(self.root, env, self.env(**env)):
            return warm.run(argv, self.root, self.env(**env), timeout)
        return subprocess.run(argv, cwd=self.root, env=self.env(**env), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str] | warm.WarmProcess:
        """``python src/runner.py ARGS`` started, stdout and stderr piped: warm as ``run``."""
        argv = [sys.executable, "src/runner.py", *args]
        if not self.cold and warm.usable(self.root, env, self.env(**env)):
            return warm.start(argv, self.root, self.env(**env))
        return subprocess.Popen(argv, cwd=self.root, env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

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

    def use_shipped_config(self) -> None:
        """The repo's luigi.toml (200 trees) instead of the template's, committed."""
        self.write_config(SHIPPED_CONFIG)
        self.commit("shipped config")

    def remove_store(self) -> None:
        """No ``mlruns/mlflow.db`` (the template has one): the runner creates it."""
        for path in (self.root / "mlruns").glob("mlflow.db*"):
            path.unlink()

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm",
                 message)

    def snapshot(self) -> Path:
        """A copy of the project as it is now (files, git, store), beside it: what
        ``restore`` puts back. Take it when no runner is running."""
        copy = self.root.with_name(f"{self.root.name}.snapshot")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.root, copy, symlinks=True, ignore=_store_files)
        _copy_database(self.root / "mlruns" / "mlflow.db", copy / "mlruns" / "mlflow.db")
        return copy

    def restore(self, snapshot: Path) -> None:
        """Put the project back as ``snapshot`` has it, in place: the same absolute paths, so
        the store's records (MLflow keeps absolute artifact locations) stay true. The
        database is restored through SQLite's backup API into the same file, so a client this
        process already holds on it reads the restored store, not a deleted file."""
        for path in self.root.iterdir():
            if path.name != "mlruns":
                _remove(path)
        for path in (self.root / "mlruns").iterdir():
            if not path.name.startswith("mlflow.db"):
                _remove(path)
        shutil.copytree(snapshot, self.root, symlinks=True, dirs_exist_ok=True,
                        ignore=_store_files)
        _copy_database(snapshot / "mlruns" / "mlflow.db", self.root / "mlruns" / "mlflow.db")

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


def _store_files(folder: str, names: list[str]) -> list[str]:
    """The sqlite store's files (database, WAL, lock), copied apart by ``_copy_database``."""
    return [name for name in names if name.startswith("mlflow.db")
            ] if Path(folder).name == "mlruns" else []


def _copy_database(source: Path, target: Path) -> None:
    """``source``'s committed content into ``target`` (created or overwritten in place)."""
    reader = sqlite3.connect(source)
    writer = sqlite3.connect(target, timeout=30)
    try:
        reader.backup(writer)
    finally:
        reader.close()
        writer.close()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def copy_project(destination: Path, data: Path) -> Project:
    """A fresh copy of the project at ``destination`` (with ``data``'s raw files in
    ``input/``): copied from a template made once per test process, git repo included."""
    template = _templates.get(data)
    if template is None:
        scratch = tempfile.mkdtemp(prefix="project-template-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        template = Path(scratch) / "project"
        _make_project(template, data)
        _templates[data] = template
    shutil.copytree(template, destination, symlinks=True)
    project = Project(destination)
    warm.prepare(project.env())  # in the background: its imports overlap the test's setup
    return project


# Templates made by this process, by data folder (one per pytest worker and folder).
_templates: dict[Path, Path] = {}


def _make_project(destination: Path, data: Path) -> None:
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
    config = destination / "luigi.toml"
    text = SHIPPED_CONFIG
    for shipped, cheap in TEMPLATE_EDITS:
        assert shipped in text, f"luigi.toml no longer says {shipped!r}"
        text = text.replace(shipped, cheap)
    config.write_text(text, encoding="utf-8")
    project = Project(destination)
    project.git("init", "-q", "-b", "main")
    project.commit("initial")
    # Every copy would otherwise compile the engine again on its first run (.pyc is ignored).
    compileall.compile_dir(destination / "src", quiet=1)
    _create_store(project)
    (destination / "mlruns" / "mlflow.db.lock").unlink()  # each run makes its own


def _create_store(project: Project) -> None:
    """The project's store, created by the runner's own ``open_store`` in a fork of this
    process, which has imported MLflow already (a fresh interpreter would spend 2 CPU-s more
    importing it again), in the project's folder and environment as a run would be; its store
    and engine are gone with the fork."""
    with tempfile.TemporaryFile() as log:
        process = multiprocessing.get_context("fork").Process(
            target=_open_store_quietly, args=(project, log.fileno()))
        process.start()
        process.join(timeout=120)
        if process.exitcode != 0:
            process.kill()  # still running after the timeout: ended, then reaped
            process.join()
            log.seek(0)
            raise RuntimeError(f"open_store in the template {project.root} failed (exit "
                               f"{process.exitcode}):\n{log.read().decode(errors='replace')}")


def _open_store_quietly(project: Project, log: int) -> None:
    from framework.store.connection import open_store

    # MLflow's "Creating initial MLflow database tables" lines, and any traceback.
    for fd in (1, 2):
        os.dup2(log, fd)
    sys.stdout = sys.stderr = open(log, "w", closefd=False)  # noqa: SIM115
    os.chdir(project.root)
    env = project.env()
    os.environ.clear()
    os.environ.update(env)
    open_store(project.tracking_uri)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a bad-input run prints; fails the test if there is more."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


def task_lines(stdout: str) -> dict[str, Sequence[str]]:
    """The runner's plan and progress lines, grouped by task name (the closing ``result:``
    block, one line per task with its metrics, is not progress)."""
    lines: dict[str, list[str]] = {}
    for line in stdout.split("\nresult:\n")[0].splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 2:
            lines.setdefault(parts[0], []).append(" ".join(parts[1:]))
    return lines


PROBES_MODULE = Path(__file__).resolve().parent / "probe_tasks.py"
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
        project.add_module("probes", PROBES_MODULE.read_text())
    project.write_config(PROBE_RUN_CONFIG.format(
        experiment=experiment, description=description, task=task,
        modules="[" + ", ".join(f'"{m}"' for m in modules) + "]"))


