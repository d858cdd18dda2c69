"""Shared fixtures. The helpers they use live in ``tests/support/`` (a real module, seen by
ruff): ``support.project`` (the project copy and its runner), ``support.probe_tasks`` (cheap
tasks for hardening tests), ``support.servers`` (the compose services as local processes) and
``support.team`` (machines of a team)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from support import warm

# Older test modules import these from conftest; ``support.project`` is their home.
from support.project import (  # noqa: F401
    RAW_FILES,
    REPO,
    SEED_CONFIG,
    Project,
    copy_project,
    one_line_error,
    task_lines,
    use_probes,
)


def pytest_configure(config: pytest.Config) -> None:
    """Press Ctrl-C as from a terminal. A suite started in the background of a script (``pytest
    &`` with no job control) inherits SIGINT ignored, as POSIX has it for background commands,
    and so would every runner it starts: a test that sends SIGINT would wait for an exit that
    never comes (and the runner rightly keeps an ignored SIGINT ignored)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


TESTS = Path(__file__).resolve().parent
# Test folders in the order their files are handed to pytest-xdist's processes: the service
# tests first (servers to start and wait on, while the other processes fill the waits), the
# many short unit files last, to even out the end of the run.
FOLDER_ORDER = ("services", "e2e", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files by ``FOLDER_ORDER`` (``--no-loadscope-reorder`` in ``pyproject.toml``
    keeps it; xdist would otherwise hand out the files with the most tests first, and the
    long service files with one to five tests each would run last, with a core left idle)."""

    def folder_rank(item: pytest.Item) -> int:
        inside = item.path.is_relative_to(TESTS)
        folder = item.path.relative_to(TESTS).parts[0] if inside else ""
        return FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)

    items.sort(key=folder_rank)  # stable: each file's tests keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list) -> None:
    """pytest-xdist's controller, just before it starts its workers: one warm server for all
    of them, which they find through the environment they inherit."""
    if not warm.COLD:
        # Every run is made during a test, and libraries read PYTEST_CURRENT_TEST on import
        # (MLflow's telemetry is off under pytest): as the per-process server started in a test
        # has it, so has this one.
        warm.start_shared(Project(REPO).env(PYTEST_CURRENT_TEST="warm server (xdist)"))


@pytest.fixture(scope="session")
def titanic_dir() -> Path:
    """The folder holding Kaggle's train.csv and test.csv: ``TITANIC_DATA_DIR``, else the
    project's own ``input/``, where the repo ships them. Never skipped: missing data fails."""
    folder = Path(os.environ.get("TITANIC_DATA_DIR") or REPO / "input")
    missing = [name for name in RAW_FILES if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"TITANIC_DATA_DIR={folder} lacks {', '.join(missing)}")
    return folder


@pytest.fixture
def project(tmp_path: Path, titanic_dir: Path) -> Project:
    return copy_project(tmp_path / "project", titanic_dir)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI (``CI=true``) a skipped test fails the run: a green CI must not hide one."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped[:5])
        print(f"\nCI: {len(skipped)} test(s) skipped ({names}); nothing may skip on CI")
        session.exitstatus = 1
