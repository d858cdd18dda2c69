"""Running ``python src/runner.py`` in a fork of a warm interpreter (``support/warm_server.py``).

One server per test run: under pytest-xdist the controller starts it (``start_shared``) before
its workers exist and they all use it; in a single test process the first project copy starts
it in the background, so its imports overlap the test's setup. ``start`` is
``subprocess.Popen`` for the runner and ``run`` is ``subprocess.run``: the same arguments,
environment and working folder, stdout and stderr on pipes this process reads, and a real
process's pid, exit code and signals.
``TESTS_COLD_RUNNER=1`` runs every runner as a fresh interpreter instead, to rule the server
out when a test fails.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from dotenv import dotenv_values

from framework.config.environment import ENV_DEFAULTS

SERVER = Path(__file__).with_name("warm_server.py")
COLD = os.environ.get("TESTS_COLD_RUNNER") == "1"
# A file to append each run that could not start warm to, and why (TESTS_WARM_LOG=path).
LOG = os.environ.get("TESTS_WARM_LOG", "")
# The folder of the server the xdist controller started for its workers (set for them).
SHARED = "TESTS_WARM_SHARED"
_lock = threading.Lock()
_server: dict[str, Any] = {}  # pid of this process, server process, socket path, read, modules
# CPU seconds of the runs this process had the server make (their workers' included): a
# run's cost is not in this process's getrusage(RUSAGE_CHILDREN), since it is no child.
cpu_seconds = [0.0]


def usable(project_root: Path, extra_env: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Whether a run of the project at ``project_root`` with environment ``env`` (``extra_env``
    added to this process's) can start in the warm server. Not when:

    * an extra variable is read by the interpreter as it starts (``PYTHON*``; the server
      honours ``PYTHONPATH``);
    * the environment the run has when it imports the libraries (``env``, then ``.env.local``,
      ``.env`` and the runner's defaults, as ``framework/config/file.py`` loads them) differs
      from the server's in a variable the libraries read when the server imported them;
    * a module of the project's ``src/`` has the name of one the server loaded (``src/yaml.py``
      would be imported instead of the library in a fresh interpreter).

    With ``TESTS_WARM_LOG`` set, a run refused for one of the last two reasons is appended to
    that file with the variables and modules that decided it.
    """
    if COLD or any(name.startswith("PYTHON") and name != "PYTHONPATH" for name in extra_env):
        return False
    server = _ready(env)
    effective = {**ENV_DEFAULTS, **_dotenv(project_root / ".env"),
                 **_dotenv(project_root / ".env.local"), **env}
    differing = sorted(name for name, seen in server["read"].items()
                       if effective.get(name) != seen)
    source = project_root / "src"
    names = {path.name.removesuffix(".py") for path in source.iterdir()} if source.is_dir() else ()
    shadowing = sorted(set(names) & set(server["modules"]))
    if (differing or shadowing) and LOG:
        with open(LOG, "a") as log:  # why the suite is slower than it should be
            log.write(f"{os.environ.get('PYTEST_CURRENT_TEST')}: fresh interpreter, "
                      f"variables {differing}, shadowing modules {shadowing}\n")
    return not differing and not shadowing


def _dotenv(path: Path) -> dict[str, str]:
    values = dotenv_values(path) if path.is_file() else {}
    return {name: value for name, value in values.items() if value is not None}


class WarmProcess:
    """A runner in a fork of the warm server, as ``subprocess.Popen(text=True)`` with stdout
    and stderr piped offers it: ``pid``, ``stdout``, ``stderr``, ``returncode``, ``poll``,
    ``wait``, ``communicate``, ``send_signal``, ``terminate`` and ``kill``."""

    def __init__(self, args: list[str], connection: socket.socket, pid: int,
                 stdout: IO[str], stderr: IO[str]) -> None:
        self.args, self.pid, self.stdout, self.stderr = args, pid, stdout, stderr
        self.returncode: int | None = None
        self._connection, self._received = connection, b""
        self._readers: list[threading.Thread] = []
        self._output: dict[str, str] = {}

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._connection], [], [], 0)[0]:
            self._read_status(None)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._read_status(timeout)
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Everything the run wrote, once it ended (``TimeoutExpired`` after ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._readers:
            for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)):
                reader = threading.Thread(target=self._drain, args=(name, stream), daemon=True)
                reader.start()
                self._readers.append(reader)
        for reader in self._readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self._output["stdout"], self._output["stderr"]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # as Popen: a run that ended is not signalled
            with contextlib.suppress(ProcessLookupError):  # reaped, its status not yet sent
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _drain(self, name: str, stream: IO[str]) -> None:
        with stream:
            self._output[name] = stream.read()

    def _read_status(self, timeout: float | None) -> None:
        """The server's ``{"returncode", "cpu_s"}`` line, sent when the run ended."""
        if timeout is not None and timeout <= 0:  # a zero timeout makes the socket non-blocking
            if not select.select([self._connection], [], [], 0)[0]:
                raise subprocess.TimeoutExpired(self.args, 0)
            timeout = None
        self._connection.settimeout(timeout)
        while b"\n" not in self._received:
            try:
                chunk = self._connection.recv(4096)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            if not chunk:
                raise RuntimeError(f"the warm server lost run {self.pid}")
            self._received += chunk
        reply = json.loads(self._received.split(b"\n", 1)[0])
        self._connection.close()
        cpu_seconds[0] += reply["cpu_s"]
        self.returncode = reply["returncode"]


def start(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> WarmProcess:
    """``subprocess.Popen(argv, cwd=cwd, env=env, stdout=PIPE, stderr=PIPE, text=True)`` for
    ``argv = [python, "src/runner.py", *args]``, in a fork of the warm server."""
    path = _ready(env)["path"]
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        body = json.dumps({"cwd": str(cwd), "argv": list(argv[2:]), "env": dict(env)}).encode()
        socket.send_fds(connection, [struct.pack("!Q", len(body))], [out_write, err_write])
        connection.sendall(body)
    finally:
        os.close(out_write)  # the run holds them now: end of file when it (and its forks) end
        os.close(err_write)
    received = b""
    while b"\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            raise RuntimeError("the warm server closed the connection before the run started")
        received += chunk
    line, rest = received.split(b"\n", 1)
    streams = [open(fd, encoding="utf-8") for fd in (out_read, err_read)]  # noqa: SIM115
    process = WarmProcess(list(argv), connection, json.loads(line)["pid"], *streams)
    process._received = rest
    return process


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
        ) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
    timeout=timeout)`` for ``argv = [python, "src/runner.py", *args]``, in a fork of the
    warm server."""
    process = start(argv, cwd, env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # as subprocess.run does
        process.wait()
        raise
    return subprocess.CompletedProcess(list(argv), process.wait(), stdout, stderr)


def start_shared(env: Mapping[str, str]) -> None:
    """Start the server for the test processes this one starts next (the xdist controller's
    workers, which inherit ``SHARED``): one server's imports instead of one per worker."""
    scratch, process = _launch(env, log=True)
    os.environ[SHARED] = scratch
    threading.Thread(target=_report_exit, args=(process, scratch), daemon=True).start()
    atexit.register(_stop, process, scratch)


def _report_exit(process: subprocess.Popen[str], scratch: str) -> None:
    """Append the shared server's exit to its hello file: a worker waiting for a server that
    died before it listened reads that at once, instead of waiting for a line never written."""
    code = process.wait()
    with contextlib.suppress(OSError), open(os.path.join(scratch, HELLO), "a") as hello:
        hello.write(json.dumps({"error": f"exit {code}"}) + "\n")


def prepare(env: Mapping[str, str]) -> None:
    """Start this process's server in the background, unless it runs already or a shared
    one serves this process."""
    with _lock:
        if _server.get("pid") == os.getpid():
            return
        _server.clear()
        if os.environ.get(SHARED):
            _server.update(pid=os.getpid(), path=os.path.join(os.environ[SHARED], SOCKET))
            return
        scratch, process = _launch(env)
        _server.update(pid=os.getpid(), process=process, path=os.path.join(scratch, SOCKET))
        atexit.register(_stop, process, scratch)


SOCKET, HELLO, SERVER_LOG = "server.sock", "hello.json", "server.log"  # in its scratch folder


def _launch(env: Mapping[str, str], log: bool = False) -> tuple[str, subprocess.Popen[str]]:
    """(its scratch folder, a new server process), which writes its hello line to ``HELLO``
    (and, with ``log``, its stderr to ``SERVER_LOG``: the workers it serves can quote it)."""
    scratch = tempfile.mkdtemp(prefix="warm-python-")
    # What the runner puts in the environment before it imports MLflow or GitPython,
    # which read some of it on import (framework/config/file.py). No PYTHONPATH: each
    # run's is put on its sys.path as the interpreter would.
    env = {**ENV_DEFAULTS, **{k: v for k, v in env.items() if k != "PYTHONPATH"}}
    with open(os.path.join(scratch, HELLO), "w") as hello, \
            open(os.path.join(scratch, SERVER_LOG), "w") if log else contextlib.nullcontext() \
            as errors:
        process = subprocess.Popen([sys.executable, str(SERVER), os.path.join(scratch, SOCKET),
                                    scratch], cwd=scratch, env=dict(env), stdout=hello,
                                   stderr=errors, text=True)
    return scratch, process


def _ready(env: Mapping[str, str]) -> dict[str, Any]:
    """The server's socket ``path``, the variables its imports ``read`` and the ``modules`` it
    holds, once it listens (the first call waits for its imports)."""
    prepare(env)
    with _lock:
        if "failed" in _server:  # said once; every later run fails at once
            raise RuntimeError(_server["failed"])
        if "read" not in _server:
            try:
                _server.update(_hello(Path(_server["path"]).parent, _server.get("process")))
            except RuntimeError as error:
                _server["failed"] = str(error)
                raise
        return _server


def _hello(scratch: Path, process: subprocess.Popen[str] | None, timeout: float = 180) -> Any:
    """The server's hello line, once it wrote it (it listens then)."""
    deadline = time.monotonic() + timeout
    while "\n" not in (text := (scratch / HELLO).read_text()):
        ended = process.poll() if process else None
        if ended is not None or time.monotonic() > deadline:
            text = f"exit {ended}" if ended is not None else "no answer"
            break
        time.sleep(0.02)
    first = text.split("\n", 1)[0]
    if first.startswith("{") and "error" not in (hello := json.loads(first)):
        return hello
    log = scratch / SERVER_LOG
    tail = log.read_text()[-2000:] if log.is_file() else ""
    raise RuntimeError(f"the warm runner server did not start ({first}){tail and ':'}\n{tail}"
                       "TESTS_COLD_RUNNER=1 runs without it")


def _stop(process: subprocess.Popen[str], scratch: str) -> None:
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(scratch, ignore_errors=True)
