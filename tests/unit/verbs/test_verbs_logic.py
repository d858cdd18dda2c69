"""Pure logic of the verbs: which params differ, what gc keeps, what verify calls decisive."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from framework.api import toml_value
from framework.core.errors import UserError
from framework.verbs import cli, gc, gc_survey, keep, reproduce, runs, verify

NOW = 1_000 * keep.DAY_MS


def facts(run_id: str, days_ago: float, experiment: str = "1", **extra) -> keep.RunFacts:
    return keep.RunFacts(run_id, experiment, int(NOW - days_ago * keep.DAY_MS),
                         extra.pop("status", "FINISHED"), **extra)


def test_differing_params_leave_out_equal_values_and_tables_logged_key_by_key():
    params = [
        {"Trainer.seed": "0", "Trainer.estimator_params": '{"max_depth": 3}',
         "Trainer.estimator_params.max_depth": "3", "Evaluator.folds": "2"},
        {"Trainer.seed": "1", "Trainer.estimator_params": '{"max_depth": 4}',
         "Trainer.estimator_params.max_depth": "4", "Evaluator.folds": "2"},
        {"Trainer.seed": "1", "Trainer.estimator_params": '{"max_depth": 3}',
         "Trainer.estimator_params.max_depth": "3", "Evaluator.folds": "2", "Extra.x": "y"},
    ]
    # Extra.x: only one run ran a task Extra, no other run says anything about it.
    assert runs.differing(params) == ["Trainer.estimator_params.max_depth", "Trainer.seed"]
    assert runs.differing(params[:1]) == []
    assert runs.differing([]) == []


def test_keep_last_keeps_the_newest_and_what_they_rely_on():
    store = [
        facts("new", 0, sources={"Preprocessor": "old1", "Trainer": "old1"}),
        facts("mid", 1),
        facts("old1", 5),
        facts("old2", 6, sources={"Preprocessor": "old3"}),
        facts("old3", 7),
    ]
    decision = keep.decide(store, keep.Rules(keep_last=2), NOW)
    assert set(decision.kept) == {"new", "mid", "old1"}
    assert "Preprocessor, Trainer" in decision.kept["old1"]
    assert set(decision.collected) == {"old2", "old3"}


def test_sources_are_kept_transitively_and_across_experiments():
    store = [
        facts("kept", 0, sources={"Trainer": "a"}),
        facts("a", 9, sources={"Preprocessor": "b"}),
        facts("b", 9, experiment="2"),
        facts("other", 9, experiment="3", sources={"Trainer": "c"}),
        facts("c", 9),
        facts("gone", 9),
    ]
    decision = keep.decide(store, keep.Rules(keep_last=1, experiments={"1"}), NOW)
    assert set(decision.collected) == {"gone"}
    assert decision.kept["other"].startswith("not in the experiments")
    assert "uses its output of Trainer" in decision.kept["c"]


def test_running_registered_pinned_and_claimed_runs_stay():
    store = [facts("newest", 0), facts("running", 9, status="RUNNING"), facts("registered", 9),
             facts("claimed", 9, signatures=["d1"]), facts("plain", 9, signatures=["d2"])]
    decision = keep.decide(store, keep.Rules(keep_last=1), NOW,
                           protected={"registered": "version 1 of registered model 'm'"},
                           claimed={"d1"})
    assert set(decision.collected) == {"plain"}
    assert decision.kept["running"] == "running"
    assert decision.kept["claimed"] == "another runner claims its output"


def test_older_than_and_keep_last_together_and_deleted_runs_are_purged():
    store = [facts("a", 1), facts("b", 2), facts("c", 10), facts("d", 20),
             facts("deleted", 0, deleted=True)]
    decision = keep.decide(store, keep.Rules(keep_last=1, older_than_days=5), NOW)
    assert set(decision.kept) == {"a", "b"}
    assert set(decision.collected) == {"c", "d", "deleted"}
    only_old = keep.decide(store, keep.Rules(older_than_days=5), NOW)
    assert set(only_old.collected) == {"c", "d", "deleted"}


def test_sweep_children_follow_their_parent():
    store = [facts("newest", 0), facts("sweep", 3), facts("child1", 2.9, parent="sweep"),
             facts("child2", 2.8, parent="sweep")]
    assert set(keep.decide(store, keep.Rules(keep_last=1), NOW).collected) == {
        "sweep", "child1", "child2"}
    assert keep.decide(store, keep.Rules(keep_last=2), NOW).collected == {}


def test_a_kept_sweep_parent_keeps_what_it_names_and_what_those_use():
    store = [facts("rerun", 0, named={"child1": "its best run", "child2": "a row of its table"}),
             facts("first", 1), facts("child1", 0.9, parent="first"),
             facts("child2", 0.8, parent="first", sources={"Preprocessor": "plain"}),
             facts("plain", 2), facts("old", 3, named={"gone": "its best run"}),
             facts("gone", 4)]
    decision = keep.decide(store, keep.Rules(keep_last=1), NOW)
    assert decision.kept["child1"] == "kept sweep run rerun names it (its best run)"
    assert decision.kept["child2"] == "kept sweep run rerun names it (a row of its table)"
    assert "child2" in decision.kept["plain"]
    assert set(decision.collected) == {"first", "old", "gone"}  # a parent it names not


@pytest.mark.parametrize(("rules", "words"), [
    (keep.Rules(), "say what to delete"),
    (keep.Rules(keep_last=0), "--keep-last 0 alone"),
    (keep.Rules(keep_last=-1), "give 0 or more"),
])
def test_rules_that_would_delete_blindly_are_refused(rules, words):
    with pytest.raises(UserError, match=words):
        gc.check(rules)
    gc.check(keep.Rules(keep_last=0, older_than_days=3))  # explicit: fine


def test_verify_separates_timestamped_files_and_decides_on_asked_tasks():
    report = verify.Report()
    same = {"sha256": "x", "bytes": 1}
    verify.compare_files("Trainer", {"model/MLmodel": same, "model/model.pkl": same},
                         {"model/MLmodel": {"sha256": "y"}, "model/model.pkl": same}, report,
                         decisive=False)
    verify.compare_files("Prediction", {"submission.csv": same},
                         {"submission.csv": {"sha256": "z"}}, report, decisive=True)
    assert report.identical == ["Trainer/model/model.pkl"]
    assert report.timestamped == ["Trainer/model/MLmodel"]
    assert report.differ == ["Prediction/submission.csv"]
    assert report.decisive == ["Prediction/submission.csv"]


def test_the_recorded_diff_is_split_from_the_notes_gitinfo_appends():
    diff = ("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
            "\n# changed but not logged (may hold secrets): .env\n"
            "\n# untracked files:\n#   notes.txt\n")
    patch, notes = reproduce.patch_of(diff)
    assert patch.endswith("+b\n") and "#" not in patch
    assert notes == ["changed but not logged (may hold secrets): .env", "untracked files:",
                     "notes.txt"]


def test_config_paths_become_absolute_for_a_worktree(tmp_path: Path):
    document = {"PathConfig": {"input": "./input/", "Trainer": "runs:/abc"}, "Trainer": {}}
    fixed = reproduce.absolute_paths(document, tmp_path)
    assert fixed["PathConfig"]["input"] == str((tmp_path / "input").resolve())
    assert fixed["PathConfig"]["Trainer"] == "runs:/abc"


def test_python_values_become_toml_for_set_and_sweep():
    assert toml_value(1) == "1"
    assert toml_value("a\"b") == '"a\\"b"'
    assert toml_value([1, 2.5]) == "[1, 2.5]"
    assert toml_value({"max_depth": 3, "flag": True}) == "{max_depth = 3, flag = true}"
    with pytest.raises(UserError):
        toml_value(object())


def test_a_claim_held_by_another_process_is_seen(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from framework.execution import claims
    claims.CLAIMS_DIR.mkdir(parents=True)
    lock = claims.CLAIMS_DIR / "d1.lock"
    lock.touch()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
        "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)"), str(lock)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = [facts("a", 9, signatures=["d1"]), facts("b", 9, signatures=["d2"])]
        assert gc_survey.claimed_digests(store, hold=False) == {"d1"}
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert gc_survey.claimed_digests([facts("a", 9, signatures=["d1"])], hold=False) == set()


def test_pins_in_the_config_protect_their_runs(tmp_path: Path, monkeypatch):
    run_id = "0123456789abcdef0123456789abcdef"
    (tmp_path / "luigi.toml").write_text(
        f'[PathConfig]\ninput = "./input/"\nTrainer = "./mlruns/1/{run_id}/artifacts/Trainer/"\n'
        'Evaluator = "runs:/fedcba9876543210fedcba9876543210"\n')
    monkeypatch.setenv("LUIGI_CONFIG_PATH", "luigi.toml")
    found = gc_survey.pinned(tmp_path, {run_id, "fedcba9876543210fedcba9876543210"})
    assert found[run_id] == "pinned by PathConfig.Trainer in luigi.toml"
    assert "PathConfig.Evaluator" in found["fedcba9876543210fedcba9876543210"]


def test_gc_waits_while_a_runner_is_between_planning_and_recording(tmp_path: Path,
                                                                    monkeypatch):
    import threading

    from framework.execution import gc_guard
    monkeypatch.chdir(tmp_path)
    src = Path(__file__).resolve().parents[3] / "src"
    runner = subprocess.Popen([sys.executable, "-c", (
        f"import sys; sys.path.insert(0, {str(src)!r}); from framework.execution import gc_guard; "
        "gc_guard.hold_shared(); print('planning', flush=True); sys.stdin.readline(); "
        "gc_guard.release(); print('recorded', flush=True); sys.stdin.readline()")],
        cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert runner.stdin is not None and runner.stdout is not None
    try:
        assert runner.stdout.readline().strip() == "planning"
        acquired = threading.Event()

        def collect() -> None:
            with gc_guard.exclusive():
                acquired.set()

        collector = threading.Thread(target=collect)
        collector.start()
        assert not acquired.wait(0.5)  # the runner is planning: gc waits
        runner.stdin.write("go\n")
        runner.stdin.flush()
        assert runner.stdout.readline().strip() == "recorded"
        assert acquired.wait(30)
        collector.join()
    finally:
        runner.kill()
        runner.wait()


def test_runs_are_read_without_mlflow_only_for_options_the_sqlite_reader_answers_exactly():
    import sqlite3

    from framework.store.sql_reader import SqlReader, Unreadable

    assert runs.readable("", None) and runs.readable("", "metrics.cv_accuracy_mean DESC")
    assert runs.readable("", "params.`Trainer.seed` ASC")
    assert not runs.readable("params.Trainer.seed = '1'", None)  # MLflow's search grammar
    assert not runs.readable("", "attributes.status") and not runs.readable("", "params.from")
    reader = SqlReader(sqlite3.connect(":memory:"), "sqlite:///nowhere.db")
    with reader, pytest.raises(Unreadable):  # asked anyway: it says so before reading
        runs.fetch(reader, ["1"], "metrics.m > 0", None, 5)


@pytest.mark.parametrize("verb", cli.VERBS)
def test_no_verb_parser_takes_a_prefix_for_an_option(verb: str):
    """``gc --dry`` is an unknown option (one line, exit 2), never ``gc --dry-run``."""
    parser = cli.parser_for(verb)
    assert parser.allow_abbrev is False
    with pytest.raises(UserError, match="unrecognized arguments: --dry"):
        positional = {"diff": ["A", "B"], "reproduce": ["RUN"]}.get(verb, [])
        parser.parse_args([*positional, "--dry"])
