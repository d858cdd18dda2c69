"""``--set Section.key=value``: values read as TOML (else as strings), dotted keys into tables,
and one error line naming the flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from framework.config.file import blamed, load_config
from framework.config.overrides import apply_overrides, parse_override
from framework.core.errors import UserError


@pytest.mark.parametrize(("text", "keys", "value"), [
    ("Trainer.seed=1", ["Trainer", "seed"], 1),
    ("Trainer.alpha=0.5", ["Trainer", "alpha"], 0.5),
    ("Preprocessor.scale_numeric=true", ["Preprocessor", "scale_numeric"], True),
    ("Trainer.estimator=sklearn.svm.SVC", ["Trainer", "estimator"], "sklearn.svm.SVC"),
    ('Trainer.estimator="quoted"', ["Trainer", "estimator"], "quoted"),
    ("Preprocessor.columns=['a', 'b']", ["Preprocessor", "columns"], ["a", "b"]),
    ("Trainer.estimator_params={max_depth = 5}", ["Trainer", "estimator_params"],
     {"max_depth": 5}),
    ("Trainer.estimator_params.max_depth=5", ["Trainer", "estimator_params", "max_depth"], 5),
    (" Trainer . seed = 2 ", ["Trainer", "seed"], 2),
    ("Trainer.note=a=b", ["Trainer", "note"], "a=b"),
    ("Trainer.note=", ["Trainer", "note"], ""),
])
def test_a_value_is_read_as_toml_else_kept_as_a_string(text: str, keys: list[str], value: Any):
    assert parse_override(text) == (keys, value)
    assert type(parse_override(text)[1]) is type(value)


def test_absurd_nesting_is_one_short_line_not_a_crash():
    with pytest.raises(UserError) as refused:
        parse_override("Trainer.x=" + "[" * 100_000)
    assert str(refused.value).startswith("--set Trainer.x=" + "[" * 40 + "...: not a TOML value")
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize(("text", "reason"), [
    ("Trainer.estimator_params={max_depth=}", "invalid value"),
    ("Trainer.seed=[1", "unclosed array"),
    ('Trainer.estimator="abc', "unterminated string"),
])
def test_a_value_that_opens_as_toml_must_be_toml(text: str, reason: str):
    """A table, list or quoted string that does not parse is a TOML mistake to point at, not a
    bare string to be refused later for its type."""
    with pytest.raises(UserError) as refused:
        parse_override(text)
    assert str(refused.value) == (f"--set {text}: not a TOML value ({reason}); write e.g. "
                                  '{max_depth = 5}, [1, 2] or "text"')


def test_a_bare_word_is_still_a_string():
    assert parse_override("Trainer.estimator=sklearn.svm.SVC")[1] == "sklearn.svm.SVC"


@pytest.mark.parametrize("text", ["seed=1", "Trainer.seed", "Trainer..seed=1", ".seed=1",
                                  "Trainer.=1", "=1"])
def test_a_malformed_override_names_the_flag_and_the_form(text: str):
    with pytest.raises(UserError) as refused:
        parse_override(text)
    assert str(refused.value) == (
        f"--set {text!r}: write it as Section.key=value, e.g. Trainer.seed=1, "
        "or Section.table.key=value for one key of a table")


def test_the_error_names_the_flag_it_came_from():
    with pytest.raises(UserError, match=r"^--sweep 'seed': write it as Section\.key=value"):
        parse_override("seed", "--sweep")


def test_overrides_apply_in_order_and_record_which_flag_set_what():
    document = {"RunConfig": {"task": "Trainer"}, "Trainer": {"seed": 0, "alpha": 1.0}}
    origins: dict[str, str] = {}
    merged = apply_overrides(document, ["Trainer.seed=1", "Trainer.seed=2", "Evaluator.folds=3"],
                             origins)
    assert merged == {"RunConfig": {"task": "Trainer"}, "Trainer": {"seed": 2, "alpha": 1.0},
                      "Evaluator": {"folds": 3}}
    assert origins == {"Trainer.seed": "--set 'Trainer.seed=2'",
                       "Evaluator": "--set 'Evaluator.folds=3'",
                       "Evaluator.folds": "--set 'Evaluator.folds=3'"}
    assert document == {"RunConfig": {"task": "Trainer"}, "Trainer": {"seed": 0, "alpha": 1.0}}


def test_a_key_inside_a_table_keeps_the_rest_and_leaves_the_original_alone():
    params = {"max_depth": 3, "criterion": "gini"}
    document = {"Trainer": {"estimator_params": params}}
    merged = apply_overrides(document, ["Trainer.estimator_params.max_depth=5",
                                        "Trainer.estimator_params.extra.deep=true"])
    assert merged == {"Trainer": {"estimator_params": {"max_depth": 5, "criterion": "gini",
                                                       "extra": {"deep": True}}}}
    assert params == {"max_depth": 3, "criterion": "gini"}
    assert document == {"Trainer": {"estimator_params": params}}


def test_no_overrides_is_an_equal_copy():
    document = {"Trainer": {"seed": 0}}
    merged = apply_overrides(document, [])
    assert merged == document
    assert merged["Trainer"] is not document["Trainer"]


def test_a_key_below_a_value_that_is_no_table_is_refused():
    with pytest.raises(UserError) as refused:
        apply_overrides({"Trainer": {"seed": 3}}, ["Trainer.seed.x=1"])
    assert str(refused.value) == ("--set 'Trainer.seed.x=1': Trainer.seed = 3 is not a table; "
                                  "set it whole instead, e.g. Trainer.seed={...}")


def test_a_section_that_is_no_table_is_refused():
    with pytest.raises(UserError) as refused:
        apply_overrides({"name": "x"}, ["name.key=1"])
    assert str(refused.value) == "--set 'name.key=1': name is not a [section] in the config"


CONFIG = """
[RunConfig]
experiment_name = "e"
task = "Fit"
[PathConfig]
input = "./data/"
"""


@pytest.mark.parametrize(("override", "error"), [
    ("PathConfig.input=./nowhere/", "--set 'PathConfig.input=./nowhere/': PathConfig.input = "
                                    "'./nowhere/' points to "),
    ('PathConfig.Fit="./nowhere"', "--set 'PathConfig.Fit=\"./nowhere\"': PathConfig.Fit = "),
    ('RunConfig.experiment_name=""', "--set 'RunConfig.experiment_name=\"\"': "
                                     "RunConfig.experiment_name must be a non-empty string"),
    ("RunConfig.experimnt=x", "--set 'RunConfig.experimnt=x': unknown key RunConfig.experimnt "
                              "(did you mean 'experiment_name'?)"),
    ("RunConfig.task=1", "--set 'RunConfig.task=1': RunConfig.task must be a string or a list"),
])
def test_a_bad_value_set_on_the_command_line_is_blamed_on_the_flag(
        tmp_path: Path, override: str, error: str):
    (tmp_path / "data").mkdir()
    path = tmp_path / "luigi.toml"
    path.write_text(CONFIG)
    with pytest.raises(UserError) as refused:
        load_config(path, tmp_path, [override])
    assert str(refused.value).startswith(error)


def test_task_flags_replace_the_file_s_tasks_and_are_recorded_as_their_origin(tmp_path: Path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "luigi.toml"
    path.write_text(CONFIG)
    config = load_config(path, tmp_path, ["RunConfig.task=Other"], ["Fit", "Score"])
    assert config.run.tasks == ("Fit", "Score")
    assert config.origins["RunConfig.task"] == "--task 'Fit' --task 'Score'"


def test_the_file_is_blamed_for_its_own_values_and_a_flag_for_what_it_set(tmp_path: Path):
    path = tmp_path / "luigi.toml"
    path.write_text(CONFIG)
    with pytest.raises(UserError) as refused:  # ./data/ does not exist
        load_config(path, tmp_path, ["RunConfig.description=fine"])
    assert str(refused.value).startswith(f"{path}: PathConfig.input = './data/' points to ")
    with pytest.raises(UserError) as refused:  # the same value, now from the command line
        load_config(path, tmp_path, ["PathConfig.input=./data/"])
    assert str(refused.value).startswith("--set 'PathConfig.input=./data/': PathConfig.input ")


def test_a_task_s_check_error_is_blamed_on_the_flag_that_set_the_key_it_names():
    origins = {"Evaluator.folds": "--set 'Evaluator.folds=1'", "Trainer": "--set 'Trainer.x=1'",
               "Trainer.seed": "--set 'Trainer.seed=-5'"}
    assert blamed(origins, "Evaluator.folds = 1: cross-validation needs at least 2 folds") == (
        "--set 'Evaluator.folds=1': Evaluator.folds = 1: cross-validation needs at least 2 folds")
    assert blamed(origins, "Trainer: invalid Trainer.seed (its random_state) for X: -5") == (
        "--set 'Trainer.seed=-5': Trainer: invalid Trainer.seed (its random_state) for X: -5")
    # a key the message only contains a prefix of, a file's own value, a blamed message: as is
    for message in ("Evaluator.folds_x = 1", "Trainer.seeds", "Preprocessor.target = 'y'",
                    "--set 'Evaluator.folds=1': Evaluator.folds = 1"):
        assert blamed(origins, message) == message


def test_flags_setting_keys_below_one_table_are_all_its_origin():
    origins: dict[str, str] = {}
    apply_overrides({"Trainer": {"estimator_params": {"max_depth": 3}}},
                    ["Trainer.estimator_params.max_depth=-1",
                     "Trainer.estimator_params.n_estimators=10", "Trainer.seed=1"], origins)
    assert origins["Trainer.estimator_params"] == (
        "--set 'Trainer.estimator_params.max_depth=-1' "
        "--set 'Trainer.estimator_params.n_estimators=10'")
    assert origins["Trainer.seed"] == "--set 'Trainer.seed=1'"
    apply_overrides({}, ["Trainer.estimator_params.max_depth=2",
                         "Trainer.estimator_params={max_depth=4}"], origins := {})
    assert origins["Trainer.estimator_params"] == "--set 'Trainer.estimator_params={max_depth=4}'"
