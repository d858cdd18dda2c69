"""The `runs` table: which params differ, which columns fit the terminal, how a sweep child
whose parent is not listed is shown. The table itself, on real runs: tests/e2e/test_verbs.py."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from framework.verbs import output, runs

TASKS = {"Preprocessor.train_file": "train.csv", "Preprocessor.target": "Survived",
         "Trainer.estimator": "sklearn.ensemble.GradientBoostingClassifier",
         "Trainer.estimator_params.max_depth": "3", "Evaluator.folds": "2"}


def test_a_param_differs_among_the_runs_that_ran_its_task_not_a_sweep_parent():
    children = [TASKS | {"Evaluator.seed": "3"}, TASKS | {"Evaluator.seed": "4"}]
    parent = {"sweep.Evaluator.seed": "[3, 4]"}  # a sweep's parent logs its grid only
    assert runs.differing([parent, *children]) == ["Evaluator.seed"]
    assert runs.differing([parent, TASKS]) == []
    other_sweep = {"sweep.Trainer.seed": "[0, 1]"}  # two sweeps over different params
    assert runs.differing([parent, other_sweep, TASKS]) == ["sweep.Evaluator.seed",
                                                            "sweep.Trainer.seed"]
    # A run that ran the task but lacks the param (another estimator's params) differs.
    other = {k: v for k, v in TASKS.items() if k != "Trainer.estimator_params.max_depth"}
    other |= {"Trainer.estimator": "sklearn.linear_model.RidgeClassifier",
              "Trainer.estimator_params.alpha": "1.0"}
    assert runs.differing([parent, TASKS, other]) == [
        "Trainer.estimator", "Trainer.estimator_params.alpha",
        "Trainer.estimator_params.max_depth"]


def test_columns_fit_the_width_at_their_floors_and_optional_ones_go_whole_last_first():
    floors = {"run": 10, "status": 8, "a": 10, "b": 4, "c": 10}
    assert output.width_at_floors(floors.values()) == 1 + 42 + 15
    assert output.fitting(floors, ["a", "b", "c"], 200) == ["run", "status", "a", "b", "c"]
    assert output.fitting(floors, ["c", "b", "a"], 55) == ["run", "status", "b", "c"]
    assert output.fitting(floors, ["a", "b", "c"], 44) == ["run", "status", "a"]
    assert output.fitting(floors, ["a", "b", "c"], 20) == ["run", "status"]  # these stay
    assert output.floor(["0.8272"], "cv_accuracy_mean") == output.READABLE
    assert output.floor(["0.8272", "4"], "seed") == 6
    assert output.floor(["└ 1a2b3c4d\nof 9f8e7d6c"], "run", no_wrap=True) == 11


@pytest.mark.parametrize("width", [80, 200])
def test_fifty_columns_are_never_squeezed_below_a_readable_width(monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    columns = ["run", "status", *[f"Task{i}.param_{i}" for i in range(48)]]
    rows = [["1a2b3c4d", "FINISHED", *[f"value{i}" for i in range(48)]] for _ in range(2)]
    stream = io.StringIO()
    output.print_table("t", columns, rows, stream=stream, no_wrap=("run", "status"),
                       optional=columns[2:], left_out=lambda names: f"{len(names)} left out")
    lines = stream.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    header = lines[lines.index(next(line for line in lines if line.startswith("┏"))) + 1]
    cells = header.strip("┃").split("┃")
    assert all(len(cell) - 2 >= output.READABLE for cell in cells[2:])  # 1 padding each side
    assert f"{50 - len(cells)} left out" in lines[-1]
    assert "value0" in stream.getvalue()


def test_a_child_whose_parent_is_not_listed_names_it_and_rare_columns_go_first():
    assert runs.label("1a2b3c4d" * 4, "", set()) == "1a2b3c4d"
    assert runs.label("1a2b3c4d" * 4, "9f8e7d6c" * 4, {"9f8e7d6c" * 4}) == "└ 1a2b3c4d"
    assert runs.label("1a2b3c4d" * 4, "9f8e7d6c" * 4, set()) == "└ 1a2b3c4d\nof 9f8e7d6c"
    frame = pd.DataFrame({name: ["x"] * 3 for name in runs.BASE_COLUMNS} | {
        "Trainer.seed": [None, "0", "1"], "best.cv_accuracy_mean": [0.8, None, None],
        "cv_accuracy_mean": [None, 0.8, 0.7]})
    assert runs.ranked(frame) == ["Trainer.seed", "cv_accuracy_mean", "best.cv_accuracy_mean"]


def test_csv_has_one_cell_per_column_whatever_a_value_holds():
    import csv

    rows = [["run", "why"], ["a1", "deleted (purged, as mlflow gc does)"], ["b2", "x\ry"],
            ["c3", 'say "hi"\nagain']]
    assert list(csv.reader(io.StringIO(output.csv_text(rows)), strict=True)) == rows


@pytest.mark.parametrize("character", ["\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u061c",
                                       "\u200b", "\u2028", "\ufeff"])
def test_what_a_terminal_would_act_on_is_shown_escaped(character):
    shown = output.visible(f"a{character}b\nc")
    assert character not in shown
    assert shown == "a" + character.encode("unicode_escape").decode() + "b\nc"
