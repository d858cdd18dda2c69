"""Measuring child processes and preparing throw-away copies of the project.

Every measured thing runs as its own child process. ``measure`` reaps it with ``os.wait4``,
which returns that child's own resource usage: its peak resident memory (``ru_maxrss``, the
largest of the child and any descendants it waited for) and CPU time, never mixed with earlier
children the way ``getrusage(RUSAGE_CHILDREN)`` would be.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PROJECT_FILES = ("src", "luigi.toml", ".env", ".gitignore")
RAW_FILES = ("train.csv", "test.csv")
# The experiment file both sides use; ``bench/run.py`` points it at its snapshot.
CONFIG = [REPO / "luigi.toml"]
# Variables from the caller's shell that would point a copy at another store or config.
LEAKING_VARIABLES = ("MLFLOW_TRACKING_URI", "LUIGI_CONFIG_PATH", "LUIGI_CONFIG_PARSER")


class ChildFailed(RuntimeError):
    """A measured command exited with a non-zero status."""


@dataclass(frozen=True)
class Sample:
    """One run of one command: wall seconds, peak RSS in MiB, CPU seconds, exit status."""

    wall_s: float
    peak_mib: float
    cpu_s: float
    returncode: int


@dataclass(frozen=True)
class Summary:
    """Medians over repeated samples, plus the raw samples."""

    wall_s: float
    peak_mib: float
    cpu_s: float
    samples: list[Sample]

    def to_json(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall_s, 3), "peak_mib": round(self.peak_mib, 1),
                "cpu_s": round(self.cpu_s, 3),
                "samples": [{k: round(v, 3) for k, v in asdict(s).items()}
                            for s in self.samples]}


def child_env(**extra: str) -> dict[str, str]:
    """The caller's environment without variables that would leak into a project copy."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKING_VARIABLES}
    env.update(extra)
    return env


def measure(cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
            log: Path | None = None, timeout: float = 7200) -> Sample:
    """Run ``cmd`` to completion; its output goes to ``log`` (or is discarded).

    Raises ``ChildFailed`` (naming ``log``) on a non-zero exit and ``TimeoutError`` (after
    killing the child) when it runs longer than ``timeout`` seconds.
    """
    sink = log.open("w") if log else open(os.devnull, "w")  # noqa: SIM115 (closed below)
    try:
        started = time.perf_counter()
        process = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env or child_env()),
                                   stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = _wait4(process, timeout)
        wall = time.perf_counter() - started
    finally:
        sink.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise ChildFailed(f"{' '.join(cmd)} exited {process.returncode} in {cwd}"
                          + (f"; see {log}" if log else ""))
    # Linux reports ru_maxrss in KiB.
    return Sample(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                  process.returncode)


def _wait4(process: subprocess.Popen[bytes], timeout: float
           ) -> tuple[int, int, Any]:
    """``os.wait4`` on ``process`` with a timeout (polling with WNOHANG, then blocking)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            raise TimeoutError(f"{process.args!r} ran longer than {timeout:.0f} s")
        time.sleep(0.005)


def summarise(samples: Sequence[Sample]) -> Summary:
    """Median wall time, peak memory and CPU time of ``samples`` (at least one)."""
    return Summary(statistics.median(s.wall_s for s in samples),
                   statistics.median(s.peak_mib for s in samples),
                   statistics.median(s.cpu_s for s in samples), list(samples))


def make_project(destination: Path, data_dir: Path, link_data: bool = True,
                 source: Path | None = None) -> Path:
    """A runnable copy of the project at ``destination`` with ``data_dir``'s csv files.

    The copy holds src/, luigi.toml, .env and .gitignore, an empty mlruns/ and input/ (whose
    files are symlinks to ``data_dir`` unless ``link_data`` is false), compiled bytecode (as
    a user's project has after its first command) and, when git is installed, a git work tree
    with one commit, since the runner records the git state of every run. ``source`` replaces
    the repository's src/ (to measure a changed version of the product side by side).
    """
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        origin = {"src": source or REPO / "src", "luigi.toml": CONFIG[0]}.get(name, REPO / name)
        if origin.is_dir():
            shutil.copytree(origin, destination / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif origin.exists():
            shutil.copy2(origin, destination / name)
    (destination / "mlruns").mkdir()
    (destination / "input").mkdir()
    for name in RAW_FILES:
        target = destination / "input" / name
        if link_data:
            target.symlink_to((data_dir / name).resolve())
        else:
            shutil.copy2(data_dir / name, target)
    subprocess.run([PYTHON, "-m", "compileall", "-q", "src"], cwd=destination, check=True)
    _commit(destination)
    return destination


def _commit(root: Path) -> None:
    """Make ``root`` a git work tree with everything committed (no-op without git)."""
    if shutil.which("git") is None:
        return
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=bench@localhost",
                  "commit", "-qm", "bench copy"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def runner_cmd(*args: str) -> list[str]:
    """``python src/runner.py ARGS``, to be run in a project copy."""
    return [PYTHON, "src/runner.py", *args]


def plain_cmd(input_dir: Path, out: Path, overrides: Sequence[str] = (),
              source: Path | None = None, config: Path | None = None) -> list[str]:
    """``python bench/plain.py`` on ``input_dir`` with the experiment file ``CONFIG`` (and the
    ``tabular`` package of ``source``, default the repository's src/)."""
    sets = [arg for override in overrides for arg in ("--set", override)]
    return [PYTHON, str(REPO / "bench" / "plain.py"), "--input", str(input_dir),
            "--out", str(out), "--config", str(config or CONFIG[0]),
            "--src", str(source or REPO / "src"), *sets]


def runner_sets(overrides: Sequence[str]) -> list[str]:
    return [arg for override in overrides for arg in ("--set", override)]


def scratch_dir(parent: Path | None, prefix: str) -> Path:
    """A new temporary folder (under ``parent`` when given)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
