"""The verbs `runs`, `diff` and `reproduce`, and the Python API, on one shared sqlite store.

Runs made once for the module: A (the small shipped experiment), B (`Trainer.seed=1`: reuses
A's Preprocessor) and a two-configuration sweep over `Evaluator.seed`.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.project import Project, copy_project, one_line_error
from support.verbs import as_json, commit, new_run, ok


@dataclass
class Store:
    project: Project
    a: str
    b: str
    sweep: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path) -> Store:
    project = copy_project(tmp_path_factory.mktemp("verbs") / "project", titanic_dir)
    a = new_run(project)
    b = new_run(project, "--set", "Trainer.seed=1")
    out = ok(project.run("--sweep", "Evaluator.seed=[3,4]"))
    sweep = next(line.split()[2] for line in out.splitlines() if line.startswith("sweep run"))
    return Store(project, a, b, sweep)


def test_runs_lists_newest_first_with_what_differs_and_the_sweep_under_its_parent(store):
    rows = as_json(store.project, "runs")
    ids = [row["run_id"] for row in rows]
    assert ids.index(store.sweep) < ids.index(store.b) < ids.index(store.a)
    children = [row for row in rows if row["parent_run_id"] == store.sweep]
    assert len(children) == 2
    assert ids.index(store.sweep) + 1 == ids.index(children[0]["run_id"])
    by_id = {row["run_id"]: row for row in rows}
    assert by_id[store.a]["Trainer.seed"] == "0" and by_id[store.b]["Trainer.seed"] == "1"
    assert by_id[store.b]["reused"] == "Preprocessor"
    assert by_id[store.a]["reused"] == ""
    assert "Trainer.estimator" not in by_id[store.a]  # the same in every run
    assert by_id[store.a]["cv_accuracy_mean"] > 0.5
    every = as_json(store.project, "runs", "--all-params", "--limit", "1")
    assert len(every) == 1 and "Trainer.estimator" in every[0]


def test_runs_filter_sort_and_formats(store):
    rows = as_json(store.project, "runs", "--filter", "params.Trainer.seed = '1'")
    assert [row["run_id"] for row in rows] == [store.b]
    rows = as_json(store.project, "runs", "--sort", "attributes.start_time ASC", "--limit", "2")
    assert [row["run_id"] for row in rows] == [store.a, store.b]
    csv = ok(store.project.run("runs", "--format", "csv")).splitlines()
    assert csv[0].startswith("run_id,parent_run_id,experiment,start_time,status,reused")
    assert ok(store.project.run("runs", "--format", "md")).startswith("| run | start")


def test_a_limit_beyond_what_sqlite_counts_lists_every_run(store):
    every = [row["run_id"] for row in as_json(store.project, "runs", "--limit", "100")]
    huge = as_json(store.project, "runs", "--limit", str(2**64))
    assert [row["run_id"] for row in huge] == every


def test_the_runs_table_fits_the_terminal(store):
    out = ok(store.project.run("runs", COLUMNS="70"))
    assert store.a[:8] in out and store.b[:8] in out
    assert max(len(line) for line in out.splitlines()) <= 70


def header_of(lines: list[str]) -> list[tuple[str, int]]:
    """The columns of the rich table in ``lines``: each header (no spaces) and its width."""
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    ruler = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    cells = [line.strip("┃").split("┃") for line in lines[top + 1:ruler]]
    return [("".join(part.strip() for part in parts).replace(" ", ""), len(parts[0]) - 2)
            for parts in zip(*cells, strict=True)]


@pytest.mark.parametrize("width", [80, 200])
def test_the_runs_table_after_a_sweep_leaves_out_whole_columns_not_letters(store, width):
    out = ok(store.project.run("runs", COLUMNS=str(width)))
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    header = header_of(lines)
    assert [name for name, _ in header[:4]] == ["run", "start(UTC)", "status", "reused"]
    assert "Trainer.seed" in dict(header)  # the param that differs comes first
    for name, size in header:  # never squeezed below 10 characters, unless it fits whole
        assert size >= 10 or len(name) <= size, (name, size)
        assert len(name) <= 3 * size  # so at most 3 lines, not one letter per line
    if width == 80:
        every = ok(store.project.run("runs", "--format", "csv")).splitlines()[0].split(",")
        assert len(every) - 2 > len(header)  # csv has every column, the table some
        footer = " ".join(lines[next(i for i, line in enumerate(lines)
                                     if line.startswith("└")) + 1:])
        assert "columns did not fit the terminal (" in footer
        assert "--format csv, json or md lists every column" in footer


def test_a_sweep_child_listed_without_its_parent_names_it(store):
    rows = as_json(store.project, "runs", "--limit", "2")
    assert [row["parent_run_id"] for row in rows] == [store.sweep] * 2
    out = ok(store.project.run("runs", "--limit", "2", COLUMNS="120"))
    for row in rows:
        assert f"│ └ {row['run_id'][:8]} " in out
    assert out.count(f"│ of {store.sweep[:8]} ") == 2
    md = ok(store.project.run("runs", "--limit", "2", "--format", "md"))
    assert f"| └ {rows[0]['run_id'][:8]} of {store.sweep[:8]} |" in md


def test_a_sweep_parent_listed_without_its_children_does_not_make_every_param_differ(store):
    rows = as_json(store.project, "runs", "--sort", "attributes.start_time ASC", "--limit", "3")
    assert [row["run_id"] for row in rows] == [store.a, store.b, store.sweep]
    params = [key for key in rows[0] if "." in key and not key.startswith("best.")]
    assert params == ["Trainer.seed"]


@pytest.mark.parametrize(("args", "words"), [
    (("runs", "--filter", "metrics.cv_accuracy_mean >>> 1"), "bad filter"),
    (("runs", "--experiment", "nope"), "no experiment 'nope'"),
    (("runs", "--limit", "0"), "--limit 0"),
    (("diff", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
     "no run '0123456789abcdef0123456789abcdef'"),
    (("diff", "not-a-run", "x"), "is not a run id"),
    (("diff", "5022", "5022"), "'5022' is too short to name one run; give at least 6"),
    (("reproduce", "fedcba9876543210fedcba9876543210"), "no run"),
    (("runs", "--bogus"), "unrecognized arguments"),
    (("runs", "--config", "nowhere.toml"), "nowhere.toml not found"),
    (("runs", "--filter", "metrics.cv_accuracy_mean > 0", "--sort", "foo DESC"),
     "bad sort 'foo DESC': Invalid attribute key 'foo'"),
    (("runs", "--config", "luigi.toml", "--experiment", "titanic"),
     "runs: give --experiment NAME or --config PATH, not both"),
])
def test_bad_input_to_a_verb_is_one_line_and_exit_2(store, args, words):
    result = store.project.run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in one_line_error(result)


def test_runs_lists_the_experiment_of_another_config(store):
    other = store.project.root / "churn.toml"
    other.write_text(store.project.root.joinpath("luigi.toml").read_text().replace(
        'experiment_name = "titanic"', 'experiment_name = "churn"'))
    try:
        listed = store.project.run("runs", "--config", "churn.toml")
        assert listed.returncode == 2, listed.stdout + listed.stderr
        assert "no experiment 'churn'" in one_line_error(listed)  # churn has no runs yet
        other.write_text('[RunConfig]\ntask = "Prediction"\n')
        unnamed = store.project.run("runs", "--config", "churn.toml")
        assert unnamed.returncode == 2
        assert one_line_error(unnamed).endswith(
            "churn.toml: no [RunConfig] experiment_name to list; give --experiment NAME instead")
    finally:
        other.unlink()


def test_a_deleted_run_is_refused(store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store.project.tracking_uri)
    doomed = client.create_run(client.get_run(store.a).info.experiment_id).info.run_id
    client.delete_run(doomed)
    for args in (("diff", store.a, doomed), ("reproduce", doomed)):
        result = store.project.run(*args)
        assert result.returncode == 2
        assert "was deleted" in one_line_error(result)


def test_each_verb_has_help(store):
    for verb in ("runs", "diff", "reproduce", "gc", "run"):
        result = store.project.run(verb, "--help")
        assert result.returncode == 0 and "usage: python src/runner.py" in result.stdout


def test_diff_shows_what_differs_and_why_in_the_plans_words(store):
    result = as_json(store.project, "diff", store.a[:8], store.b)
    assert result["config"] == [{"key": "Trainer.seed", "a": "0", "b": "1"}]
    assert {"key": "Trainer.seed", "a": "0", "b": "1"} in result["params"]
    metrics = {m["key"]: m for m in result["metrics"]}
    accuracy = metrics["cv_accuracy_mean"]
    assert accuracy["delta"] == pytest.approx(accuracy["b"] - accuracy["a"])
    tasks = {t["task"]: t for t in result["tasks"]}
    # The Evaluator cross-validates the Trainer's settings, not its fit: it is upstream-free.
    assert [t["task"] for t in result["tasks"]] == ["Preprocessor", "Evaluator", "Trainer",
                                                    "Prediction"]
    assert tasks["Preprocessor"]["same"] and tasks["Preprocessor"]["output_b"] == store.a
    assert tasks["Trainer"]["why"] == ["parameter Trainer.seed 0 -> 1"]
    assert tasks["Evaluator"]["why"] == ["parameter Trainer.seed 0 -> 1"]
    table = ok(store.project.run("diff", store.a, store.b, COLUMNS="200"))
    assert "parameter Trainer.seed 0 -> 1" in table and "same output" in table


def test_values_from_the_store_are_shown_as_text_never_as_markup_or_terminal_codes(store):
    # Another experiment, so the listing the other tests read is unchanged.
    odd = "[/b] odd"
    run = new_run(store.project, "--set", f'RunConfig.experiment_name="{odd}"',
                  "--set", 'RunConfig.description="ratio [/x] and [red]red[/red]"')
    from mlflow.tracking import MlflowClient

    # A tag anyone may edit (the MLflow UI, a team server), as a terminal would act on it.
    MlflowClient(store.project.tracking_uri).set_tag(run, "reused", "\x1b]0;owned\x07\x1b[2J")
    for args in (("diff", store.a, run), ("runs", "--experiment", odd)):
        for form in ("table", "md"):
            result = store.project.run(*args, "--format", form, COLUMNS="400")
            assert result.returncode == 0, result.stderr
            assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    table = ok(store.project.run("diff", store.a, run, COLUMNS="400"))
    assert "ratio [/x] and [red]red[/red]" in table
    listing = ok(store.project.run("runs", "--experiment", odd, COLUMNS="400"))
    assert "experiment '[/b] odd'" in listing and "\\x1b]0;owned\\x07" in listing


def test_reproduce_verify_recomputes_everything_identically(store):
    result = store.project.run("reproduce", store.a, "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduce" in result.stdout and "worktree" not in result.stdout
    assert "Trainer/model/MLmodel" in result.stdout.split("timestamp")[1]
    assert "reproduced: every prediction and metric is identical" in result.stdout
    plan = result.stdout.split("plan:\n")[1].splitlines()[:4]
    assert [line.split()[1] for line in plan] == ["run"] * 4, plan
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store.project.tracking_uri)
    newest = client.search_runs([client.get_run(store.a).info.experiment_id],
                                f"tags.reproduces = '{store.a}'")
    assert len(newest) == 1 and newest[0].info.status == "FINISHED"


def test_reproduce_runs_a_dirty_run_at_its_commit_with_its_diff(store):
    project = store.project
    features = project.root / "src" / "titanic" / "features.py"
    original = features.read_text()
    features.write_text(original + "\n# a comment: the code's signature stays the same\n")
    dirty = new_run(project, "--set", "Trainer.seed=1")  # fully reused from B
    features.write_text(original + "\n# committed later\n")
    commit(project, "later")
    try:
        result = project.run("reproduce", dirty)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "this checkout is at" in result.stdout and "dirty tree" in result.stdout
        from mlflow.tracking import MlflowClient

        client = MlflowClient(project.tracking_uri)
        made = client.search_runs([client.get_run(dirty).info.experiment_id],
                                  f"tags.reproduces = '{dirty}'")[0]
        before = client.get_run(dirty).data.tags
        assert made.data.tags["mlflow.source.git.commit"] == before["mlflow.source.git.commit"]
        assert made.data.tags["git.dirty"] == "true"
        artifacts = Path(made.info.artifact_uri)
        assert "a comment: the code's signature" in (artifacts / "git.diff").read_text()
        assert project.git("worktree", "list").count("\n") == 0  # the worktree is gone
    finally:
        features.write_text(original)
        commit(project, "restore")


API = textwrap.dedent("""
    import json, sys
    import runner
    frame = runner.runs(limit=3)
    print(json.dumps({"columns": list(frame.columns), "rows": len(frame)}))
    result = runner.run(set={"Trainer.seed": 1})
    print(json.dumps({"run": result.run_id, "status": result.status,
                      "reused": {t: o.reused for t, o in result.outputs.items()},
                      "folder": result.outputs["Trainer"].folder,
                      "accuracy": result.metrics.get("cv_accuracy_mean")}))
    try:
        runner.run(set={"Trainer.sed": 1})
    except runner.UserError as error:
        print(json.dumps({"error": str(error)}))
""")


def test_the_python_api_runs_lists_and_raises(store, tmp_path):
    import json

    result = subprocess.run([sys.executable, "-c", API], cwd=tmp_path, capture_output=True,
                            text=True, env={**store.project.env(),
                                            "PYTHONPATH": str(store.project.root / "src")},
                            timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    listing, made, error = lines
    assert listing["columns"][:6] == ["run_id", "parent_run_id", "experiment", "start_time",
                                      "status", "reused"] and listing["rows"] == 3
    assert made["status"] == "FINISHED" and all(made["reused"].values())
    assert store.b in made["folder"]
    assert "unknown key Trainer.sed" in error["error"] and "\n" not in error["error"]


def test_pip_install_e_makes_import_runner_work(store, tmp_path):
    """The clone installs (editable) and ``import runner`` works from anywhere."""
    clone = store.project.root
    (clone / "pyproject.toml").write_text((Path(__file__).parents[2] / "pyproject.toml")
                                          .read_text())
    (clone / "requirements.txt").write_text((Path(__file__).parents[2] / "requirements.txt")
                                            .read_text())
    venv = tmp_path / "venv"
    # No pip of its own (ensurepip costs 3.6 CPU-s): this pip installs into it (``--python``).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "-e", str(clone)], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages())})
    assert installed.returncode == 0, installed.stderr
    probe = subprocess.run(
        [str(python), "-c", "import runner; print(runner.__file__, len(runner.runs()))"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**store.project.env(), "PYTHONPATH": os.pathsep.join(site.getsitepackages())})
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(clone / "src" / "runner.py"))


# --- The sqlite reader (framework/store/sql_reader.py) answers as MLflow does ---------------
# These run last in the module: they add runs and experiments of their own to the store.

def add_reader_cases(tracking_uri: str) -> dict[str, str]:
    """Runs MLflow orders and fills in subtle ways, in an experiment of their own, plus a
    deleted experiment: ties on start time, NaN, infinite and missing metrics, a metric
    logged at several steps, a parent and its children, a deleted and a finished run."""
    import math

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from framework.core.names import PARENT_TAG

    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("reader-check")
    t0 = 1_700_000_000_000
    made: dict[str, str] = {}

    def run(name: str, start: int, params=(), metrics=(), tags=()) -> str:
        run_id = client.create_run(experiment, start_time=start, tags=dict(tags)).info.run_id
        client.log_batch(run_id, metrics=[Metric(k, v, t0, step) for k, v, step in metrics],
                         params=[Param(k, v) for k, v in params],
                         tags=[RunTag(k, v) for k, v in tags])
        made[name] = run_id
        return run_id

    run("tie_a", t0, [("p", "1"), ("q", "x")], [("m", 0.5, 0), ("m", 0.7, 1), ("n", math.nan, 0)],
        [("t", "b")])
    run("tie_b", t0, [("p", "2")], [("m", math.nan, 0), ("n", math.inf, 0)], [("t", "a")])
    run("bare", t0 + 1)
    parent = run("parent", t0 + 5, [("sweep.x", "[1, 2]")], [("m", 0.1, 0)])
    run("child_1", t0 + 6, [("p", "3")], [("m", -math.inf, 0)], [(PARENT_TAG, parent)])
    run("child_2", t0 + 7, [("p", "4")], [("m", 0.9, 0)], [(PARENT_TAG, parent)])
    client.delete_run(run("deleted", t0 + 10, [("p", "9")]))
    client.set_terminated(run("finished", t0 + 3, [("p", "5")], [("m", 0.3, 2)]),
                          end_time=t0 + 4)
    gone = client.create_experiment("reader-gone")
    made["in_gone"] = client.create_run(gone, start_time=t0).info.run_id
    client.delete_experiment(gone)
    return made


def errors_of(call) -> str | None:
    from framework.core.errors import UserError

    try:
        call()
    except UserError as error:
        return str(error)
    return None


def test_the_sqlite_reader_lists_and_compares_exactly_as_mlflow_does(store):
    import itertools

    import pandas as pd
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    from framework.store.sql_reader import open_reader
    from framework.verbs import common, diff, runs

    made = add_reader_cases(store.project.tracking_uri)
    client = MlflowClient(store.project.tracking_uri)
    reader = open_reader(store.project.tracking_uri)
    assert reader is not None, "the reader refused a store the runner made"
    main = client.get_experiment(client.get_run(store.a).info.experiment_id).name
    with reader:
        for experiment, sort, limit, all_params in itertools.product(
                (None, main, "reader-check"),
                (None, "metrics.m DESC", "metrics.m", "params.p DESC", "tags.t",
                 "attributes.start_time ASC", "attributes.end_time DESC",
                 "metrics.cv_accuracy_mean DESC"),
                (None, 2, 50), (False, True)):
            options = {"experiment": experiment, "sort": sort, "limit": limit,
                       "all_params": all_params}
            pd.testing.assert_frame_equal(runs.runs_frame(reader, **options),
                                          runs.runs_frame(client, **options),
                                          check_exact=True, obj=str(options))
        for bad in ({"experiment": "nope"}, {"experiment": "reader-gone"}, {"limit": 0}):
            mlflow_says = errors_of(lambda bad=bad: runs.runs_frame(client, **bad))
            assert mlflow_says and errors_of(lambda bad=bad: runs.runs_frame(reader, **bad)) \
                == mlflow_says
        listed = [(e.experiment_id, e.name, e.lifecycle_stage)
                  for e in client.search_experiments()]
        assert [(e.experiment_id, e.name, e.lifecycle_stage)
                for e in reader.search_experiments()] == listed
        every = [r.info.run_id for r in client.search_runs(
            [e[0] for e in listed] + [client.get_experiment_by_name("reader-gone")
                                      .experiment_id], run_view_type=ViewType.ALL)]
        assert made["deleted"] in every and made["in_gone"] in every
        for run_id in every:  # any stage, any experiment: what diff and gc's checks see
            ours, theirs = reader.get_run(run_id), client.get_run(run_id)
            assert ours is not None
            assert {field: getattr(theirs.info, field) for field in vars(ours.info)} \
                == vars(ours.info)
            assert repr((ours.data.tags, ours.data.params, ours.data.metrics)) == repr(
                (theirs.data.tags, theirs.data.params, theirs.data.metrics))
        child = made["child_1"]
        for pair in ((store.a, store.b), (store.b[:8], store.a), (store.a, store.sweep)):
            assert diff.compare(reader, *pair) == diff.compare(client, *pair), pair
        for run_id in ("0123456789abcdef0123456789abcdef", made["deleted"], "not-a-run",
                       store.a[:5], child[:6], made["in_gone"]):
            mlflow_says = errors_of(lambda run_id=run_id: common.get_run(client, run_id))
            assert errors_of(lambda run_id=run_id: common.get_run(reader, run_id)) \
                == mlflow_says, run_id


def imported_packages(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The top-level packages a command run with PYTHONPROFILEIMPORTTIME=1 imported."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_runs_and_diff_read_a_sqlite_store_without_importing_mlflow(store):
    heavy = {"mlflow", "sqlalchemy", "alembic", "sklearn", "matplotlib"}
    listing = store.project.run("runs", "--format", "csv", PYTHONPROFILEIMPORTTIME="1")
    assert listing.returncode == 0 and store.a in listing.stdout, listing.stderr[-2000:]
    assert not imported_packages(listing) & (heavy | {"luigi"})
    sorted_runs = store.project.run("runs", "--sort", "metrics.cv_accuracy_mean DESC",
                                    "--format", "csv", PYTHONPROFILEIMPORTTIME="1")
    assert sorted_runs.returncode == 0
    assert not imported_packages(sorted_runs) & (heavy | {"luigi"})
    compared = store.project.run("diff", store.a, store.b, "--format", "json",
                                 PYTHONPROFILEIMPORTTIME="1")
    assert compared.returncode == 0 and "parameter Trainer.seed 0 -> 1" in compared.stdout
    assert not imported_packages(compared) & heavy
    # A filter is MLflow's grammar: that listing goes through MlflowClient, as before.
    filtered = store.project.run("runs", "--filter", "params.Trainer.seed = '1'",
                                 PYTHONPROFILEIMPORTTIME="1")
    assert filtered.returncode == 0 and "mlflow" in imported_packages(filtered)


def test_a_store_the_reader_does_not_know_gets_mlflows_answer(store, tmp_path):
    """An unknown schema revision, or a store locked by another process: the reader steps
    aside, and MlflowClient gives today's one line and exit 2, no traceback."""
    import sqlite3

    copy = tmp_path / "mlflow.db"
    with sqlite3.connect(store.project.root / "mlruns" / "mlflow.db") as source, \
            sqlite3.connect(copy) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    uri = f"sqlite:///{copy}"
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0123abcd4567'")
    for args in (("runs",), ("diff", store.a, store.b)):
        result = store.project.run(*args, MLFLOW_TRACKING_URI=uri)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "out-of-date database schema" in one_line_error(result)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?",
                           (store_revision(store),))
    holder = sqlite3.connect(copy, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = store.project.run("runs", MLFLOW_TRACKING_URI=uri, RUNNER_STORE_WAIT="1")
    finally:
        holder.close()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is locked by" in one_line_error(result)
    assert store.project.run("runs", MLFLOW_TRACKING_URI=uri).returncode == 0


def store_revision(store: Store) -> str:
    import sqlite3

    with sqlite3.connect(store.project.root / "mlruns" / "mlflow.db") as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])
