"""Run the services of docker-compose.yml as local processes, for tests.

There is no Docker engine where the tests run, so the closest check of the compose file is to
run each service's very `command` (and `environment`) here, with only the bind address and the
port changed: the address because 0.0.0.0 is for Docker's port forwarding, the port so that
tests never collide with a UI the developer already runs on 5000/8082.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"

HOST_FLAGS = ("--host", "--address")
PORT_FLAGS = ("--port",)
CALLER_ONLY_PREFIXES = ("MLFLOW_", "LUIGI_")

log = logging.getLogger(__name__)

# Never send requests to 127.0.0.1 through an HTTP proxy named in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def compose_service(service: str) -> dict[str, Any]:
    """The service's mapping from docker-compose.yml (YAML merge keys resolved)."""
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    if service not in services:
        raise KeyError(f"{COMPOSE_FILE.name} has no service {service!r}: {sorted(services)}")
    return services[service]


def compose_command(service: str, host: str, port: int) -> list[str]:
    """The service's compose `command` with the bind host and the port replaced, nothing else.

    Both flags must be present: without them a test could not know where the server listens.
    """
    command = compose_service(service)["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    replacements = {flag: host for flag in HOST_FLAGS} | {flag: str(port) for flag in PORT_FLAGS}
    seen: set[str] = set()
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        flag, eq, _ = arg.partition("=")
        if flag in replacements and eq:  # --port=5000
            out.append(f"{flag}={replacements[flag]}")
        elif arg in replacements:  # --port 5000
            out.append(arg)
            if next(args, None) is None:
                raise ValueError(f"{service}: {arg} has no value in {argv}")
            out.append(replacements[arg])
        else:
            out.append(arg)
            continue
        seen.add("host" if flag in HOST_FLAGS else "port")
    missing = {"host", "port"} - seen
    if missing:
        raise ValueError(f"{service}: command sets no {'/'.join(sorted(missing))} flag: {argv}")
    return out


def compose_environment(service: str) -> dict[str, str]:
    """The service's compose `environment` (mapping or KEY=VALUE list) as strings."""
    environment = compose_service(service).get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    env: dict[str, str] = {}
    for key, value in environment.items():
        if value is None:  # `- KEY` alone: Compose passes the host's value through.
            if key in os.environ:
                env[key] = os.environ[key]
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if "$" in text:
            raise ValueError(f"{service}: {key}={text!r} needs Compose interpolation")
        env[key] = text
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, bytes]:
    """Status and body of one request; HTTP errors are returned, not raised. No proxies."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _tail(output: IO[bytes], lines: int = 40) -> str:
    output.flush()
    output.seek(0)
    text = output.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _wait_ready(
    proc: subprocess.Popen[bytes], url: str, timeout: float, output: IO[bytes], service: str
) -> None:
    start = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{service} exited with {proc.returncode} before {url} answered:\n{_tail(output)}"
            )
        try:
            status, _ = http("GET", url, timeout=2)
        except OSError as error:  # not listening yet
            last = repr(error)
        else:
            if status == 200:
                log.info("%s ready in %.1f s", service, time.monotonic() - start)
                return
            last = f"HTTP {status}"
        time.sleep(0.2)
    raise TimeoutError(
        f"{service}: {url} did not answer 200 within {timeout:g} s ({last}):\n{_tail(output)}"
    )


def _stop(proc: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after `grace` s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log.warning("process group %d ignored SIGTERM for %g s", proc.pid, grace)
    # Also sweeps children that outlived their parent (e.g. mlflow's uvicorn worker).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def running_service(
    service: str,
    cwd: Path,
    extra_env: dict[str, str] | None = None,
    ready_path: str = "/health",
    timeout: float = 60,
) -> Iterator[str]:
    """Run the service's compose command in `cwd` and yield its base URL once it serves.

    `cwd` plays the mounted project (compose's working_dir): relative paths in the command,
    such as `sqlite:///mlruns/mlflow.db`, resolve inside it. Readiness means
    GET `<base><ready_path>` answered 200 (redirects followed). If the server exits or does
    not get ready in time, the error carries the tail of its output.
    """
    port = free_port()
    argv = compose_command(service, "127.0.0.1", port)
    # Like the container, which gets none of the caller's MLflow/Luigi settings (compose reads
    # .env only to interpolate the compose file): a test session's MLFLOW_TRACKING_URI or
    # LUIGI_CONFIG_PATH must not change what the command does.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(CALLER_ONLY_PREFIXES)}
    env = {**inherited, **compose_environment(service), **(extra_env or {})}
    # The entry points (mlflow, luigid) live next to the interpreter running the tests.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop reaches every child
        )
        try:
            _wait_ready(proc, base_url + ready_path, timeout, output, service)
            yield base_url
        finally:
            _stop(proc)


POSTGRES = "postgresql://postgres@127.0.0.1:5432"  # the machine's PostgreSQL (trust auth)


def postgres_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def postgres_database(prefix: str = "runner_test") -> Iterator[str]:
    """A new, uniquely named database on the machine's PostgreSQL, dropped afterwards (with
    whatever sessions still use it); yields its URI."""
    import uuid

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_team_server(cwd: Path, database_uri: str, artifacts: Path) -> Iterator[str]:
    """The compose file's `mlflow-team` command, with its store and artifact destination (the
    environment variables the compose file sets) pointed at ``database_uri`` and ``artifacts``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with running_service("mlflow-team", cwd, extra_env={
            "MLFLOW_BACKEND_STORE_URI": database_uri,
            "MLFLOW_ARTIFACTS_DESTINATION": str(artifacts)}) as url:
        yield url


def _wait_grpc(proc: subprocess.Popen[bytes], address: str, timeout: float, output: IO[bytes],
               service: str) -> None:
    import grpc

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{service} exited with {proc.returncode} before {address} "
                               f"answered:\n{_tail(output)}")
        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
            except grpc.FutureTimeoutError:
                continue
        log.info("%s ready in %.1f s", service, time.monotonic() - start)
        return
    raise TimeoutError(f"{service}: {address} did not answer within {timeout:g} s:\n"
                       f"{_tail(output)}")


@contextlib.contextmanager
def running_study_server(cwd: Path, database_uri: str, timeout: float = 60) -> Iterator[str]:
    """The compose file's `study-server` command (Optuna's gRPC storage proxy), its database
    (the environment variable the compose file sets) pointed at ``database_uri``; yields the
    ``grpc://127.0.0.1:<port>`` address runners are given as ``RUNNER_STUDY_STORAGE``.

    ``cwd`` plays the mounted project: the command is ``python src/study_server.py``, run
    with the interpreter of the tests, as in the image.
    """
    port = free_port()
    argv = compose_command("study-server", "127.0.0.1", port)
    if argv[0] == "python":
        argv[0] = sys.executable
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(CALLER_ONLY_PREFIXES)}
    env = {**inherited, **compose_environment("study-server"),
           "STUDY_SERVER_DATABASE": database_uri}
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_grpc(proc, f"127.0.0.1:{port}", timeout, output, "study-server")
            yield f"grpc://127.0.0.1:{port}"
        finally:
            _stop(proc)
