"""One sweep started on two machines against one luigid and one tracking server: luigid
hands each task to one machine, the other waits and uses its output from the server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from support.servers import postgres_database, running_service, running_team_server
from support.team import make_machine, remote_problem, require_postgres

TASKS = ("Base", "Left", "Right")
# Base, then two branches: while one machine's single Luigi worker runs one branch, the
# other branch can only go to the other machine.
FORK = '''
import time
from pathlib import Path

import luigi

from framework.task.run_task import RunTask


class Base(RunTask):
    seed = luigi.IntParameter(default=0, description="what the sweep varies")

    def produce(self, out: Path) -> None:
        time.sleep(1.0)
        (out / "base.txt").write_text(str(self.seed))


class Left(RunTask):
    def requires(self):
        return {"base": self.upstream(Base)}

    def produce(self, out: Path) -> None:
        time.sleep(3.0)
        (out / "left.txt").write_text("left")
        self.log_metrics({"left_score": 1.0})


class Right(RunTask):
    def requires(self):
        return {"base": self.upstream(Base)}

    def produce(self, out: Path) -> None:
        time.sleep(3.0)
        (out / "right.txt").write_text("right")
        self.log_metrics({"right_score": 2.0})
'''
CONFIG = '''
[RunConfig]
experiment_name = "fork"
task = ["Left", "Right"]
modules = ["fork"]

[Sweep]
"Base.seed" = [0, 1]
'''


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """Both machines' sweeps, started together; (server URL, {machine root: stdout})."""
    require_postgres()
    home = tmp_path_factory.mktemp("team-sweep")
    (home / "server").mkdir()
    (home / "scheduler" / "mlruns").mkdir(parents=True)
    with postgres_database() as database, running_team_server(
            home / "server", database, home / "server" / "artifacts") as url, \
            running_service("luigid", home / "scheduler", ready_path="/") as scheduler:
        machines = [make_machine(home / name, titanic_dir, url, CONFIG, {"fork": FORK})
                    for name in ("a", "b")]
        runners = [m.start("--scheduler-url", scheduler) for m in machines]
        outputs = [runner.communicate(timeout=180) for runner in runners]
        assert [r.returncode for r in runners] == [0, 0], "\n".join(o + e for o, e in outputs)
        yield url, {m.root: out for m, (out, _) in zip(machines, outputs, strict=True)}


def machine_of(run) -> str:
    """The project folder a child run was started in (from its entry point)."""
    return run.data.tags["mlflow.source.name"].removesuffix("/src/runner.py")


def test_each_task_runs_once_on_one_of_the_machines(sweep, tmp_path):
    from mlflow.tracking import MlflowClient

    url, stdouts = sweep
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("fork")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert all(r.info.status == "FINISHED" for r in runs)
    made = Counter((task, r.data.tags[f"signature.{task}"]) for r in children
                   for task in TASKS if f"manifest.{task}" in r.data.tags)
    assert len(made) == 6 and set(made.values()) == {1}, made  # 2 configurations x 3 tasks
    producers = {machine_of(r) for r in children
                 if any(f"manifest.{task}" in r.data.tags for task in TASKS)}
    assert producers == {str(root) for root in stdouts}, "luigid gave one machine everything"
    for run in children:
        for task in TASKS:
            mine = f"manifest.{task}" in run.data.tags
            assert mine != (f"reused.{task}" in run.data.tags), (task, run.data.tags)
            if mine:  # logged into the run that computed it, complete on the server
                assert remote_problem(client, run.info.run_id, task,
                                      tmp_path / run.info.run_id / task) is None
            else:
                assert f"output.{task}" not in run.data.tags
        assert {"left_score", "right_score"} <= run.data.metrics.keys()


def test_each_machine_waited_and_used_the_others_outputs_from_its_cache(sweep, tmp_path):
    """A configuration's progress lines are its run's runner_output.txt."""
    from mlflow.tracking import MlflowClient

    url, stdouts = sweep
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("fork")
    waited = 0
    for run in client.search_runs([experiment.experiment_id]):
        if "mlflow.parentRunId" not in run.data.tags:
            continue
        root = machine_of(run)
        out = Path(client.download_artifacts(run.info.run_id, "runner_output.txt",
                                             str(tmp_path / run.info.run_id))).read_text()
        waited += "waiting  another runner is computing it" in out
        adopted = [line for line in out.splitlines() if "skipped  reused from run" in line]
        assert all(f"{root}/mlruns/cache/" in line for line in adopted), out
        assert not any(str(other) in out for other in stdouts if str(other) != root)
    assert waited
