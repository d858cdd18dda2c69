"""Scaling out: Luigi's central scheduler and an MLflow tracking server, both started with the
commands docker-compose.yml runs, as real processes on loopback."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from support.project import Project, task_lines
from support.servers import http, running_service

TASKS = {"Preprocessor", "Trainer", "Evaluator", "Prediction"}


def done_tasks(scheduler_url: str) -> set[str]:
    """Families of the tasks luigid reports DONE."""
    query = urllib.parse.quote(json.dumps({"status": "DONE"}))
    status, body = http("GET", f"{scheduler_url}/api/task_list?data={query}")
    assert status == 200
    return {task["name"] for task in json.loads(body)["response"].values()}


def test_a_run_on_the_central_scheduler_with_two_workers(project: Project):
    with running_service("luigid", project.root, ready_path="/") as scheduler:
        result = project.run("--scheduler-url", scheduler, "--workers", "2")
        assert result.returncode == 0, result.stdout + result.stderr
        assert done_tasks(scheduler) == TASKS
    (run,) = project.all_runs()
    assert run.info.status == "FINISHED"
    assert "cv_accuracy_mean" in run.data.metrics


def test_a_run_logged_to_a_tracking_server_uploads_its_outputs(project: Project,
                                                               tmp_path: Path):
    from mlflow.tracking import MlflowClient

    project.remove_store()  # the template's: the run must not create one
    server_home = tmp_path / "server"
    (server_home / "mlruns").mkdir(parents=True)
    with running_service("mlflow", server_home) as server:
        first = project.run(MLFLOW_TRACKING_URI=server)
        assert first.returncode == 0, first.stdout + first.stderr
        again = project.run(MLFLOW_TRACKING_URI=server)
        assert again.returncode == 0, again.stderr
        client = MlflowClient(server)
        experiment = client.get_experiment_by_name("titanic")
        assert experiment is not None
        newest, oldest = client.search_runs([experiment.experiment_id],
                                            order_by=["attributes.start_time DESC"])
        assert oldest.info.status == newest.info.status == "FINISHED"
        uploaded = {item.path for item in client.list_artifacts(oldest.info.run_id)}
        assert {"Preprocessor", "Trainer", "Evaluator", "Prediction", "config"} <= uploaded
        submission = client.download_artifacts(oldest.info.run_id, "Prediction/submission.csv",
                                               str(tmp_path))
        assert len(Path(submission).read_text().splitlines()) == 419
    assert not any(line.startswith("ran") for lines in task_lines(again.stdout).values()
                   for line in lines)
    assert newest.data.tags["reused.Trainer"] == oldest.info.run_id
    assert not (project.root / "mlruns" / "mlflow.db").exists()


def test_two_runs_at_once_on_one_scheduler_do_not_collide(project: Project):
    with running_service("luigid", project.root, ready_path="/") as scheduler:
        runs = [project.start("--scheduler-url", scheduler, "--no-reuse", "--task", "Trainer")
                for _ in range(2)]
        outputs = [process.communicate(timeout=240) for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    finished = project.all_runs()
    assert [run.info.status for run in finished] == ["FINISHED", "FINISHED"]
    folders = {run.data.tags["output.Trainer"] for run in finished}
    assert len(folders) == 2
    for folder in folders:
        assert (Path(folder) / "_manifest.json").is_file()
