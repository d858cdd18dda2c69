"""`gc` on a real sqlite store: what it keeps, concurrency with runners, and what comes after.

Runs made once for the module: A (seed 0), B (seed 1, its model registered), C (seed 2) and D
(seed 0 again: everything reused from A, the newest run). Another store holds sweeps and
studies run twice, for what a kept sweep parent names.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.project import Project, copy_project, task_lines
from support.verbs import as_json, new_run, new_sweep, ok


@dataclass
class Store:
    project: Project
    a: str
    b: str
    c: str
    d: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Store:
    project = copy_project(tmp_path_factory.mktemp("gc") / "project", titanic_dir)
    a = new_run(project)
    b = new_run(project, "--set", "Trainer.seed=1", "--set", 'RunConfig.register_model="gb"')
    c = new_run(project, "--set", "Trainer.seed=2")
    d = new_run(project)
    return Store(project, a, b, c, d)


def client_of(project: Project):
    from mlflow.tracking import MlflowClient

    return MlflowClient(project.tracking_uri)


def unverified(project: Project) -> list[str]:
    """Every output an active run of the store uses that does not verify (should be none)."""
    from framework.core.names import manifest_tag, output_tag, reused_tag, signature_tag
    from framework.outputs.folder import OutputFolder

    client = client_of(project)
    problems = []
    for run in project.all_runs():
        for key in run.data.tags:
            if not key.startswith(signature_tag("")):
                continue
            task = key.removeprefix(signature_tag(""))
            made_by = run
            if output_tag(task) not in run.data.tags:
                source = run.data.tags.get(reused_tag(task))
                if not source:
                    continue  # skipped: not needed by what the run asked for
                made_by = client.get_run(source)
            output = OutputFolder(Path(made_by.data.tags[output_tag(task)]), task)
            if not output.exists() or output.manifest_digest() != made_by.data.tags.get(
                    manifest_tag(task)):
                problems.append(f"{run.info.run_id} {task}: {output.problem()}")
    return problems


def test_dry_run_lists_what_goes_and_keeps_what_is_needed(store):
    report = as_json(store.project, "gc", "--keep-last", "1", "--dry-run")
    assert [row["run_id"] for row in report["collected"]] == [store.c]
    assert report["bytes"] > 100_000
    needed = report["kept_because_needed"]
    assert needed[store.a] in (  # D reused all of A, B its Preprocessor: either says why
        f"kept run {store.d[:8]} uses its output of Evaluator, Prediction, Preprocessor, Trainer",
        f"kept run {store.b[:8]} uses its output of Preprocessor")
    assert needed[store.b] == "version 1 of registered model 'gb'"
    assert len(store.project.all_runs()) == 4  # nothing deleted
    table = ok(store.project.run("gc", "--keep-last", "1", "--dry-run"))
    assert "would delete 1 runs" in table and store.c[:8] in table


def test_bad_gc_options_are_one_line_and_exit_2(store):
    for args, words in ((("--keep-last", "0"), "--keep-last 0 alone"), ((), "say what"),
                        (("--keep-last", "1", "--experiment", "nope"), "no experiment"),
                        (("--older-than", "nan"), "--older-than nan: give 0 or more days")):
        result = store.project.run("gc", *args)
        assert result.returncode == 2 and words in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert len(store.project.all_runs()) == 4


def test_gc_csv_has_one_cell_per_column_whatever_the_reason_says(store):
    client = client_of(store.project)  # a run deleted in the MLflow UI: gc purges it
    doomed = client.create_run(client.get_run(store.a).info.experiment_id).info.run_id
    client.delete_run(doomed)
    out = ok(store.project.run("gc", "--keep-last", "1", "--dry-run", "--format", "csv"))
    rows = list(csv.reader(line for line in out.splitlines() if not line.startswith("#")))
    assert rows[0] == ["run", "start (UTC)", "status", "why it goes", "bytes"]
    assert all(len(row) == 5 for row in rows), rows
    assert [doomed, "deleted (purged, as mlflow gc does)"] in [[r[0], r[3]] for r in rows]


def test_two_runners_and_a_gc_at_once_lose_nothing(store):
    project = store.project
    runners = [project.start("--set", "Trainer.seed=3"), project.start()]
    collector = project.start("gc", "--keep-last", "1")
    outputs = [process.communicate(timeout=300) for process in [*runners, collector]]
    for process, (out, err) in zip([*runners, collector], outputs, strict=True):
        assert process.returncode == 0, out + err
    assert "deleted" in outputs[2][0]
    assert unverified(project) == []
    reused_rerun = task_lines(outputs[1][0])
    assert all(lines[0].startswith("reuse") for task, lines in reused_rerun.items()
               if task in ("Preprocessor", "Trainer", "Evaluator", "Prediction"))


def test_after_gc_kept_runs_verify_and_collected_configurations_recompute(store):
    project = store.project
    client = client_of(project)
    ids = {run.info.run_id for run in project.all_runs()}
    # The newest run (D, or a runner of the test above) reuses A's outputs; B is registered.
    assert store.c not in ids and {store.a, store.b} <= ids
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException):
        client.get_run(store.c)  # purged, as `mlflow gc` does
    assert not any(project.root.glob(f"mlruns/*/{store.c}"))
    assert unverified(project) == []
    plan = task_lines(ok(project.run("--dry-run")))
    assert {task: lines[0].split()[0] for task, lines in plan.items()} == {
        "Preprocessor": "reuse", "Trainer": "reuse", "Evaluator": "reuse", "Prediction": "reuse"}
    again = task_lines(ok(project.run("--set", "Trainer.seed=2")))
    assert again["Preprocessor"][0].startswith("reuse")
    assert again["Trainer"][0].startswith("run")
    assert unverified(project) == []


GRID = ("--sweep", "Trainer.estimator_params.max_depth=[2,3]")
STUDY = ("--set", 'RunConfig.experiment_name="study"', "--sweep", "method=tpe", "--sweep",
         "Trainer.estimator_params.max_depth={randint=[4,8]}")


@dataclass
class Sweeps:
    project: Project
    grids: list[str]  # the same grid twice, oldest first: the second reuses every configuration
    studies: list[str]  # one study, 2 trials then 3: the second command runs one more


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Sweeps:
    project = copy_project(tmp_path_factory.mktemp("gc-sweeps") / "project", titanic_dir)
    return Sweeps(project, [new_sweep(project, *GRID), new_sweep(project, *GRID)],
                  [new_sweep(project, *STUDY, "--sweep", f"trials={trials}") for trials in (2, 3)])


def named_by(client, parent_id: str) -> set[str]:
    """The runs a sweep parent names: its best run and the run of every row of its table."""
    parent = client.get_run(parent_id)
    folder = Path(parent.info.artifact_uri.removeprefix("file://"))
    with (folder / "sweep.csv").open() as table:
        rows = {row["run_id"] for row in csv.DictReader(table) if row["run_id"]}
    return rows | {parent.data.tags["sweep.best_run_id"]}


def test_a_kept_sweep_or_study_parent_keeps_every_run_it_names(sweeps):
    project, client = sweeps.project, client_of(sweeps.project)
    kept = [sweeps.grids[1], sweeps.studies[1]]  # the newest of each experiment
    named = {parent: named_by(client, parent) for parent in kept}
    # The rerun of the grid made no child: its table and best run are the first grid's.
    assert not named[sweeps.grids[1]] & {r.info.run_id for r in project.all_runs()
                                         if r.data.tags.get("mlflow.parentRunId") == kept[0]}
    report = as_json(project, "gc", "--keep-last", "1", "--dry-run")
    for parent, runs in named.items():
        for run_id in runs:
            why = report["kept_because_needed"].get(run_id, "")
            assert why.startswith(f"kept sweep run {parent[:8]} names it"), (run_id, why)
    assert {row["run_id"] for row in report["collected"]} >= {sweeps.grids[0], sweeps.studies[0]}

    ok(project.run("gc", "--keep-last", "1"))
    ids = {run.info.run_id for run in project.all_runs()}
    assert sweeps.grids[0] not in ids and sweeps.studies[0] not in ids
    assert set().union(*named.values()) <= ids
    assert unverified(project) == []
    rerun = ok(project.run(*STUDY, "--sweep", "trials=3"))  # reads its trials from the study
    best = re.search(r"^best: run ([0-9a-f]{32})", rerun, re.MULTILINE)
    assert best is not None and best.group(1) in ids, rerun
    listed = set(re.findall(r"\b[0-9a-f]{32}\b", rerun))
    assert listed <= {run.info.run_id for run in project.all_runs()}, rerun
