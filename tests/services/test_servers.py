"""The services of docker-compose.yml really serve.

There is no Docker engine on the machines that run these tests, so instead of `docker compose
up` each test runs the service's very compose `command` and `environment` as a local process
(tests/support/servers.py changes only the bind address and the port), in a temporary project
folder,
and talks to it over HTTP. What this cannot check is Docker's side: the image build, the mount
and the port publishing.
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

QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def _get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    status, body = http("GET", url, headers=headers)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def _post_json(url: str, payload: dict) -> dict:
    status, body = http(
        "POST",
        url,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
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


def _populate_store(project: Path) -> tuple[str, str]:
    """One finished run with a param and an artifact, logged straight into the sqlite store."""
    from mlflow.tracking import MlflowClient

    mlruns = project / "mlruns"
    client = MlflowClient(f"sqlite:///{mlruns / 'mlflow.db'}")
    experiment_id = client.create_experiment(
        "servers-test", artifact_location=str(mlruns / "servers-test")
    )
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "alpha", "0.5")
    note = project / "note.txt"
    note.write_text("logged before the server started\n", encoding="utf-8")
    client.log_artifact(run_id, str(note), artifact_path="reports")
    client.set_terminated(run_id)
    return experiment_id, run_id


def test_mlflow_service_serves_the_project_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in QUIET_MLFLOW.items():
        monkeypatch.setenv(name, value)
    experiment_id, run_id = _populate_store(project)
    api = "/api/2.0/mlflow"

    with running_service("mlflow", project, extra_env=QUIET_MLFLOW, ready_path="/health") as url:
        status, page = http("GET", f"{url}/", headers={"Host": "localhost:5000"})
        assert status == 200
        assert b"<html" in page  # the UI itself, as a browser on the published port gets it

        experiment = _get_json(f"{url}{api}/experiments/get-by-name?experiment_name=servers-test")
        assert experiment["experiment"]["experiment_id"] == experiment_id
        # Stored as an absolute path: why compose mounts the project at the same path.
        assert experiment["experiment"]["artifact_location"] == str(
            project / "mlruns" / "servers-test"
        )

        runs = _post_json(f"{url}{api}/runs/search", {"experiment_ids": [experiment_id]})["runs"]
        assert [run["info"]["run_id"] for run in runs] == [run_id]
        assert runs[0]["info"]["status"] == "FINISHED"
        assert {"key": "alpha", "value": "0.5"} in runs[0]["data"]["params"]

        listing = _get_json(f"{url}{api}/artifacts/list?run_id={run_id}&path=reports")
        assert [(f["path"], f["is_dir"]) for f in listing["files"]] == [("reports/note.txt", False)]

        # The route the UI uses for runs whose artifact_uri is a local path. The proxied
        # /api/2.0/mlflow-artifacts/artifacts/... route serves ./mlartifacts, not these files.
        query = urllib.parse.urlencode({"path": "reports/note.txt", "run_uuid": run_id})
        status, body = http("GET", f"{url}/get-artifact?{query}")
        assert (status, body) == (200, b"logged before the server started\n")

        # --allowed-hosts: the compose service name passes, anything else is refused.
        probe = f"{url}{api}/experiments/get-by-name?experiment_name=servers-test"
        assert http("GET", probe, headers={"Host": "mlflow:5000"})[0] == 200
        assert http("GET", probe, headers={"Host": "localhost:5000"})[0] == 200
        assert http("GET", probe, headers={"Host": "evil.example:5000"})[0] == 403


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
