"""The services of docker-compose.yml really serve.

There is no Docker engine on the machines that run these tests, so instead of `docker compose
up` each test runs the service's very compose `command` and `environment` as a local process
(tests/support/servers.py changes only the bind address and the port), in a temporary project
folder,
and talks to it over HTTP. What this cannot check is Docker's side: the image build, the mount
and the port publishing. The `mlflow` service over a runner's store is tested in test_browser.py
(its pages, routes, hosts and artifacts).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

from support.servers import (
    COMPOSE_FILE,
    compose_command,
    compose_environment,
    compose_service,
    http,
    running_service,
)


def _get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    status, body = http("GET", url, headers=headers)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temporary project folder with the `mlruns/` that the compose commands expect."""
    (tmp_path / "mlruns").mkdir()
    return tmp_path


def test_compose_command_changes_only_host_and_port() -> None:
    for service, host_flag in (("mlflow", "--host"), ("luigid", "--address")):
        original = [str(arg) for arg in compose_service(service)["command"]]
        changed = compose_command(service, "127.0.0.1", 12345)
        assert len(changed) == len(original)
        diff = {
            (before, after)
            for before, after in zip(original, changed, strict=True)
            if before != after
        }
        assert diff == {("0.0.0.0", "127.0.0.1"), (original[original.index("--port") + 1], "12345")}
        assert changed[changed.index(host_flag) + 1] == "127.0.0.1"


def test_compose_file_publishes_on_loopback_only() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert "version" not in compose
    assert compose["services"]["mlflow"]["ports"] == ["127.0.0.1:5000:5000"]
    assert compose["services"]["luigid"]["ports"] == ["127.0.0.1:8082:8082"]
    assert compose["services"]["luigid"]["profiles"] == ["scheduler"]
    assert "profiles" not in compose["services"]["mlflow"]
    assert compose_environment("mlflow") == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                                             "MLFLOW_DISABLE_TELEMETRY": "true"}


def test_luigid_service_serves_visualiser_and_api(project: Path) -> None:
    with running_service("luigid", project, ready_path="/") as url:
        status, page = http("GET", f"{url}/static/visualiser/index.html")
        assert status == 200
        assert b"Luigi" in page
        assert http("HEAD", f"{url}/")[0] == 204  # luigid's own health answer
        data = urllib.parse.quote(json.dumps({"status": "PENDING"}))
        assert _get_json(f"{url}/api/task_list?data={data}") == {"response": {}}
        assert _get_json(f"{url}/api/worker_list") == {"response": []}

    # --logdir and --state-path of the compose command point into the project's mlruns/.
    assert "Scheduler starting up" in (project / "mlruns" / "luigi-server.log").read_text()
    assert (project / "mlruns" / "luigi-state.pickle").is_file()
