"""A team on one tracking server: PostgreSQL behind `mlflow server` with proxied artifacts
(the compose file's `mlflow-team` command, run as a process), machines that share nothing
but its URL, reuse and pins across machines, per-task upload, four runners at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.project import SEED_CONFIG, task_lines
from support.servers import postgres_database, running_team_server
from support.team import (
    Machine,
    make_machine,
    remote_problem,
    require_postgres,
    rewrite_consistently,
    server_file,
)

TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")
ALL = ("--task", "Evaluator", "--task", "Prediction")
STEPWISE = '''
import time
from pathlib import Path

import luigi

from framework.task.run_task import RunTask


class First(RunTask):
    def produce(self, out: Path) -> None:
        (out / "first.txt").write_text("first")


class Second(RunTask):
    gate = luigi.Parameter(default="", description="a file to wait for")

    def requires(self):
        return {"first": self.upstream(First)}

    def produce(self, out: Path) -> None:
        deadline = time.monotonic() + 60
        while not Path(self.gate).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        (out / "second.txt").write_text("second")
'''


@dataclass
class Team:
    url: str
    artifacts: Path
    home: Path
    data: Path

    def machine(self, name: str, config: str = SEED_CONFIG, **modules: str) -> Machine:
        return make_machine(self.home / name, self.data, self.url, config, modules)

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(self.url)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    require_postgres()
    home = tmp_path_factory.mktemp("team")
    (home / "server").mkdir()
    with postgres_database() as database, running_team_server(
            home / "server", database, home / "server" / "artifacts") as url:
        yield Team(url, home / "server" / "artifacts", home, titanic_dir)


@pytest.fixture(scope="module")
def machine_a(team: Team) -> Machine:
    return team.machine("a")


@pytest.fixture(scope="module")
def a_run(team: Team, machine_a: Machine) -> str:
    """Machine A computes everything once; the id of its run."""
    result = machine_a.run(*ALL)
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = team.client().search_runs([experiment(team)])
    return str(run.info.run_id)


def experiment(team: Team, name: str = "titanic") -> str:
    found = team.client().get_experiment_by_name(name)
    assert found is not None
    return str(found.experiment_id)


def plan_line(stdout: str, task: str) -> str:
    return task_lines(stdout)[task][0]


def test_another_machine_reuses_verified_outputs_from_the_server(team, machine_a, a_run):
    b = team.machine("b")
    b.forbidden = [machine_a.root]
    result = b.run(*ALL)
    assert result.returncode == 0, result.stdout + result.stderr
    for task in TASKS:
        assert plan_line(result.stdout, task).startswith(f"reuse from run {a_run}")
        assert (b.root / "mlruns" / "cache" / a_run / task / "_manifest.json").is_file()
    assert not any(line.split()[1:2] == ["ran"] for line in result.stdout.splitlines()[1:])
    (run,) = [r for r in team.client().search_runs([experiment(team)])
              if r.info.run_id != a_run]
    original = team.client().get_run(a_run)
    assert run.info.status == "FINISHED"
    assert {run.data.tags[f"reused.{task}"] for task in TASKS} == {a_run}
    assert not [key for key in run.data.tags if key.startswith("output.")]
    assert run.data.metrics == original.data.metrics  # logged again from the manifest
    assert str(machine_a.root) not in result.stdout + result.stderr
    assert b.opened_elsewhere() == []


def test_a_tampered_remote_output_is_refused(team, machine_a, a_run):
    seed = ("--set", "Trainer.seed=7", "--task", "Prediction")
    made = machine_a.run(*seed)
    assert made.returncode == 0, made.stdout + made.stderr
    producer = team.client().search_runs([experiment(team)], max_results=1,
                                         order_by=["attributes.start_time DESC"])[0]
    source = producer.info.run_id
    # One file changed (its checksum no longer matches), and one output forged whole.
    model = server_file(team.artifacts, source, "Trainer/model/MLmodel")
    model.write_text(model.read_text() + "\n# tampered\n")
    rewrite_consistently(team.artifacts, source, "Prediction", "submission.csv")
    d = team.machine("d")
    result = d.run(*seed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_line(result.stdout, "Preprocessor").startswith("reuse from run")
    trainer, prediction = plan_line(result.stdout, "Trainer"), plan_line(result.stdout,
                                                                         "Prediction")
    assert trainer.startswith("run") and f"runs:/{source}/Trainer/model/MLmodel" in trainer
    assert "does not match its checksum" in trainer
    assert prediction.startswith("run") and "not the one the run recorded" in prediction
    assert not (d.root / "mlruns" / "cache" / source).exists()  # never kept
    newest = team.client().search_runs([experiment(team)], max_results=1,
                                       order_by=["attributes.start_time DESC"])[0]
    assert newest.info.status == "FINISHED" and "reused.Trainer" not in newest.data.tags


def test_a_runs_pin_works_across_machines(team, machine_a, a_run):
    config = SEED_CONFIG.replace('input="./input/"',
                                 f'input="./input/"\nTrainer = "runs:/{a_run}"')
    c = team.machine("c", config)
    c.forbidden = [machine_a.root]
    result = c.run("--no-reuse")  # the pin still applies; the rest is computed again
    assert result.returncode == 0, result.stdout + result.stderr
    assert plan_line(result.stdout, "Trainer").startswith(f"pinned from run {a_run}")
    assert plan_line(result.stdout, "Prediction").startswith("run")
    assert (c.root / "mlruns" / "cache" / a_run / "Trainer" / "_manifest.json").is_file()
    newest = team.client().search_runs([experiment(team)], max_results=1,
                                       order_by=["attributes.start_time DESC"])[0]
    assert newest.data.tags["reused.Trainer"] == a_run
    assert c.opened_elsewhere() == []


def test_each_output_lands_on_the_server_when_its_task_finishes(team, tmp_path):
    gate = tmp_path / "gate"
    config = ('[RunConfig]\nexperiment_name = "stepwise"\ntask = "Second"\n'
              f'modules = ["stepwise"]\n[Second]\ngate = "{gate}"\n')
    machine = team.machine("u", config, stepwise=STEPWISE)
    runner = machine.start()
    try:
        client, run = team.client(), None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = client.get_experiment_by_name("stepwise")
            runs = client.search_runs([found.experiment_id]) if found else []
            if runs and "manifest.First" in runs[0].data.tags:
                run = runs[0]
                break
            time.sleep(0.2)
        assert run is not None, "First's output never reached the server"
        listed = {item.path for item in client.list_artifacts(run.info.run_id, "First")}
        assert listed == {"First/first.txt", "First/_manifest.json"}
        assert client.list_artifacts(run.info.run_id, "Second") == []
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        assert remote_problem(client, run.info.run_id, "First", tmp_path / "first") is None
    finally:
        gate.write_text("go")
        stdout, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 0, stdout + stderr
    assert remote_problem(client, run.info.run_id, "Second", tmp_path / "second") is None


def test_four_runners_at_once_lose_nothing(team, machine_a, a_run, tmp_path):
    machines = [team.machine(f"e{n}") for n in range(4)]
    runners = [m.start(*ALL, "--set", f"Trainer.seed={10 + n}", "--set", "Evaluator.folds=2")
               for n, m in enumerate(machines)]
    outputs = [runner.communicate(timeout=240) for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 4, outputs
    client = team.client()
    reference = client.get_run(a_run).data
    seeds = {str(10 + n) for n in range(4)}
    runs = [r for r in client.search_runs([experiment(team)])
            if r.data.params.get("Trainer.seed") in seeds]
    assert sorted(r.data.params["Trainer.seed"] for r in runs) == sorted(seeds)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.params.keys() == reference.params.keys()
        assert run.data.metrics.keys() == reference.metrics.keys()
        assert "manifest.Preprocessor" in client.get_run(
            run.data.tags["reused.Preprocessor"]).data.tags
        for task in ("Trainer", "Evaluator", "Prediction"):
            assert remote_problem(client, run.info.run_id, task,
                                  tmp_path / run.info.run_id / task) is None
