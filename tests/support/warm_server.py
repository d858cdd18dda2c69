"""A warm Python for end-to-end tests: ``python src/runner.py`` without its imports each time.

Most of a test run's runner process is the interpreter importing MLflow, pandas and
scikit-learn (about 1.8 of a reused run's 2.3 CPU-s), and the suite starts a few hundred of
them. This server imports those libraries once, then forks one process per request, which
runs ``src/runner.py`` of the project it is sent as ``__main__``, with that project's
``src/`` first on ``sys.path``, its environment, working folder and arguments, stdout and
stderr to the files it is sent. The fork is a real process: its own pid, exit code, signals,
Luigi workers and sweep workers. What it does not repeat is only what every fresh interpreter
repeats: loading third-party modules that read nothing of the project at import.

What is never loaded here, so every run loads it itself as a user's would:
  * the project's own modules (``framework``, ``tabular``, ``titanic``, tasks, user modules):
    each test's copy has its own ``src/``, and signatures hash it;
  * Luigi, which reads its configuration when imported (the runner sets it up first).
A ``PYTHONPATH`` in the run's environment is honoured as the interpreter would: its folders
come after the script's on ``sys.path``, and a ``sitecustomize`` module in them is imported
before the script runs (the team tests' audit hook). Runs that depend on how the interpreter
itself starts otherwise (other ``PYTHON*`` variables such as ``PYTHONPROFILEIMPORTTIME``,
peak memory, signals sent to the process, the command line and ``--help``) start
``python src/runner.py`` as usual: see ``support.project``.

Protocol, over a Unix socket, one connection per run: the client sends the length of its
request with the write ends of two pipes attached (the run's stdout and stderr), then the
request, JSON (``cwd``, ``argv``, ``env``); the server forks a supervisor that forks the run,
writes ``{"pid": N}`` at once and ``{"returncode": N, "cpu_s": S}`` when it ended. Run as
``python warm_server.py SOCKET``: once it listens it prints one JSON line (the variables its
imports read, with their values, and the top-level modules it holds), and it ends when the
process that started it is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import socket
import struct
import sys
import threading
from pathlib import Path

# Third-party modules a runner process loads on a full run, an adaptive search or a verb;
# importing them reads neither the working folder nor the project (checked: no luigi).
PRELOAD = (
    "mlflow", "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store", "mlflow.sklearn",
    "mlflow.models", "mlflow.data.pandas_dataset", "mlflow.store.artifact.local_artifact_repo",
    "pandas", "numpy", "scipy.sparse", "sklearn.base", "sklearn.ensemble",
    "sklearn.linear_model", "sklearn.model_selection", "sklearn.metrics",
    "sklearn.preprocessing", "sklearn.pipeline", "sklearn.compose", "sklearn.impute",
    "matplotlib.figure", "matplotlib.backends.backend_agg", "optuna", "git", "rich.table",
    "rich.console", "dotenv", "toml", "tomllib", "sqlalchemy", "alembic", "mlflow.pyfunc",
)
PARENT = os.getppid()  # what started this server: a test process, or pytest-xdist's controller


# What preloading left behind that a fresh interpreter does only once the run imports the
# libraries: exit handlers (registered after the runner's own there, so they run before it)
# and variables the libraries put in the environment (sklearn's KMP_*).
PRELOAD_EXIT_HANDLERS: list[tuple] = []
PRELOAD_ENVIRONMENT: dict[str, str] = {}
# The variables the libraries read while they were imported, with the values they saw (None:
# unset). A run whose environment differs in one of them is not started here (support/warm.py).
PRELOAD_READ: dict[str, str | None] = {}
# Read on import but different for every test or folder, and nothing a run does depends on
# them (MLflow's telemetry, off in the runner, looks at PYTEST_CURRENT_TEST). MLflow's
# telemetry session id (which MLflow itself sets or unsets in the environment of whichever
# process imports it, the test process too) is decided again in each fork with the run's own
# environment (``run``).
TELEMETRY_SESSION = "_MLFLOW_TELEMETRY_SESSION_ID"
PER_TEST = {"PYTEST_CURRENT_TEST", "PWD", "OLDPWD", "_", TELEMETRY_SESSION}
# Where ``os.environ.copy()`` and ``os.environ.items()`` look each variable up.
WHOLE_ENVIRONMENT = {"<frozen os>", "<frozen _collections_abc>", os.__file__,
                     getattr(sys.modules["_collections_abc"], "__file__", "")}


def preload() -> None:
    """Import ``PRELOAD``, recording the exit handlers the imports register, the variables they
    read and the ones they set; then check that no Luigi and no other Python thread exists."""
    before = dict(os.environ)
    register = atexit.register

    def recording(function, *args, **kwargs):
        PRELOAD_EXIT_HANDLERS.append((function, args, kwargs))
        return register(function, *args, **kwargs)

    atexit.register = recording
    environ = type(os.environ)
    get = environ.__getitem__

    def reading(self: os._Environ[str], name: str) -> str:  # os.getenv, .get, in, []
        caller = sys._getframe(1).f_code
        if caller.co_name in ("__iter__", "copy") and caller.co_filename in WHOLE_ENVIRONMENT:
            return get(self, name)  # a copy or walk of all of it (GitPython, tqdm): no read
        try:
            value = get(self, name)
        except KeyError:
            PRELOAD_READ.setdefault(name, None)
            raise
        PRELOAD_READ.setdefault(name, value)
        return value

    environ.__getitem__ = reading  # type: ignore[method-assign]
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        atexit.register = register
        environ.__getitem__ = get  # type: ignore[method-assign]
    PRELOAD_ENVIRONMENT.update((k, v) for k, v in os.environ.items() if before.get(k) != v
                               and k != TELEMETRY_SESSION)
    if "luigi" in sys.modules:  # it would have read a configuration before the run set one
        raise SystemExit("warm_server: a preloaded module imported luigi")
    # A fork copies no thread, and maybe a lock one held. Only Python's threads are counted;
    # the native ones (OpenBLAS's pool) handle a fork themselves, as in the runner's own forks.
    if threading.active_count() != 1:
        raise SystemExit("warm_server: preloading started a thread")
    gc.collect()
    gc.freeze()  # the forks share these pages, and their collections skip them


def serve(path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.settimeout(1.0)
    modules = sorted({name.partition(".")[0] for name in sys.modules})
    read = {name: value for name, value in PRELOAD_READ.items()
            if name not in PRELOAD_ENVIRONMENT and name not in PER_TEST}
    print(json.dumps({"read": read, "modules": modules}), flush=True)
    while True:
        with contextlib.suppress(ChildProcessError):  # reap finished supervisors
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            if os.getppid() != PARENT:  # the test process is gone (we were re-parented)
                return
            continue
        if os.fork() == 0:
            listener.close()
            supervise(connection)
        connection.close()


def supervise(connection: socket.socket) -> None:
    """In a fork: read the request, fork the run, report its pid and then its exit code."""
    code = 1
    try:
        connection.settimeout(None)
        header, fds, _, _ = socket.recv_fds(connection, 8, 2)
        size = struct.unpack("!Q", header)[0]
        body = b""
        while len(body) < size:
            chunk = connection.recv(size - len(body))
            if not chunk:
                return
            body += chunk
        pid = os.fork()
        if pid == 0:
            connection.close()
            run(json.loads(body), stdout=fds[0], stderr=fds[1])
        for fd in fds:  # only the run holds them: its end is the reader's end of file
            os.close(fd)
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime  # with its Luigi and sweep workers'
        connection.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status),
                                       "cpu_s": cpu}).encode() + b"\n")
        code = 0
    finally:
        os._exit(code)


def run(request: dict, stdout: int, stderr: int) -> None:
    """In the run's fork: become ``python src/runner.py ARGV`` in ``cwd``; never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (stdout, 1), (stderr, 2)):
            os.dup2(source, target)
            os.close(source)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in PRELOAD_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        # MLflow decides on its telemetry when imported (off: it unsets its session variable,
        # which the test process may pass on); it is made to decide again, with this run's
        # environment, by its own re-initialising call.
        from mlflow.telemetry import set_telemetry_client

        set_telemetry_client()
        script = str(Path(request["cwd"], "src", "runner.py"))
        sys.argv = ["src/runner.py", *request["argv"]]
        sys.orig_argv = [sys.executable, *sys.argv]
        if "numpy" in sys.modules:  # its global RandomState was seeded once, in the server
            sys.modules["numpy"].random.seed()
            atexit._clear()  # the preloaded libraries' handlers: re-registered at the end
        set_path(os.path.dirname(script), os.environ.get("PYTHONPATH", ""))
        gc.enable()
        code = execute(script)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def set_path(script_folder: str, python_path: str) -> None:
    """``sys.path`` as ``python SCRIPT`` with this ``PYTHONPATH`` has it, and its
    ``sitecustomize`` imported."""
    folders = [os.path.abspath(p) for p in python_path.split(os.pathsep) if p]
    sys.path[:] = [script_folder, *folders, *sys.path[1:]]  # started without PYTHONPATH
    if any(os.path.isfile(os.path.join(folder, "sitecustomize.py")) for folder in folders):
        sys.modules.pop("sitecustomize", None)
        importlib.import_module("sitecustomize")


def execute(script: str) -> int:
    """Run ``script`` as ``__main__`` the way the interpreter does, exit handlers included;
    return the exit code it would end with."""
    import importlib.machinery
    import types

    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__cached__ = None  # type: ignore[attr-defined]
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
    main.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    try:
        source = Path(script).read_bytes()
        exec(compile(source, script, "exec", dont_inherit=True), main.__dict__)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (
            0 if stop.code is None else (print(stop.code, file=sys.stderr) or 1))
    except BaseException as error:  # what the interpreter prints for an uncaught exception
        sys.excepthook(type(error), error, error.__traceback__.tb_next)  # not this frame
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # as at exit: wait for threads
    for function, args, kwargs in PRELOAD_EXIT_HANDLERS:
        atexit.register(function, *args, **kwargs)
    atexit._run_exitfuncs()  # the runner's own handler ends the process here
    return code


if __name__ == "__main__":
    os.chdir(sys.argv[2] if len(sys.argv) > 2 else "/")
    preload()
    try:
        serve(sys.argv[1])
    finally:
        with contextlib.suppress(OSError):
            os.unlink(sys.argv[1])
