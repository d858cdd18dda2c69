"""Task sections checked against the tasks' Luigi parameters: unknown keys with a suggestion,
TOML types per kind of parameter, table parameters, and the flag that set a bad value."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import luigi
import pytest

from framework.config.file import from_document
from framework.config.schema import WrongType, check_sections, check_value, coerce
from framework.core.errors import UserError


class SchemaFit(luigi.Task):
    seed = luigi.IntParameter(default=0, description="the random seed")
    alpha = luigi.FloatParameter(default=1.0)
    scale = luigi.BoolParameter(default=False)
    name = luigi.Parameter(default="ridge")
    params = luigi.DictParameter(default={})
    columns = luigi.ListParameter(default=[])
    kind = luigi.ChoiceParameter(choices=["a", "b"], default="a")
    day = luigi.DateParameter(default=datetime.date(2020, 1, 1))
    run_id = luigi.Parameter(default="")  # set by the runner, never by a config


class SchemaScore(luigi.Task):
    pass


TASKS: dict[str, type[luigi.Task]] = {"SchemaFit": SchemaFit, "SchemaScore": SchemaScore}
PARAMS = dict(SchemaFit.get_params())


@pytest.mark.parametrize(("key", "value", "typed"), [
    ("seed", 3, 3),
    ("alpha", 0.5, 0.5),
    ("alpha", 2, 2),
    ("scale", True, True),
    ("name", "svc", "svc"),
    ("params", {"max_depth": 5, "inner": {"a": [1]}}, {"max_depth": 5, "inner": {"a": (1,)}}),
    ("columns", ["a", "b"], ("a", "b")),
    ("kind", "b", "b"),
    ("day", "2024-02-29", datetime.date(2024, 2, 29)),
])
def test_a_value_of_the_right_type_is_normalised(key: str, value: Any, typed: Any):
    assert check_value("SchemaFit", key, PARAMS[key], value) == typed


@pytest.mark.parametrize(("key", "value", "wanted"), [
    ("seed", "1", "an integer"),
    ("seed", 1.5, "an integer"),
    ("seed", True, "an integer"),
    ("alpha", "0.5", "a number"),
    ("alpha", False, "a number"),
    ("scale", 1, "true or false"),
    ("scale", "true", "true or false"),
    ("name", 5, "a string"),
    ("params", [1], "a table, e.g. {max_depth = 5}"),
    ("columns", "a", "an array, e.g. ['a', 'b']"),
    ("kind", 1, "a string"),
])
def test_a_value_of_the_wrong_type_names_the_type_wanted(key: str, value: Any, wanted: str):
    with pytest.raises(WrongType, match=f"^{wanted.replace('[', '.').replace(']', '.')}$"):
        coerce(PARAMS[key], value)
    with pytest.raises(UserError) as refused:
        check_value("SchemaFit", key, PARAMS[key], value)
    description = PARAMS[key].description or "see the task"
    assert str(refused.value) == (f"SchemaFit.{key} = {value!r} has the wrong type: "
                                  f"expected {wanted} ({description})")


def test_the_description_of_the_parameter_is_shown():
    with pytest.raises(UserError) as refused:
        check_value("SchemaFit", "seed", PARAMS["seed"], "x")
    assert str(refused.value) == ("SchemaFit.seed = 'x' has the wrong type: expected an integer "
                                  "(the random seed)")


def test_a_value_the_parameter_rejects_says_why():
    with pytest.raises(UserError) as refused:
        check_value("SchemaFit", "kind", PARAMS["kind"], "c")
    # Luigi's own words; it names the choices as a set, in no fixed order.
    assert str(refused.value) in (
        "SchemaFit.kind = 'c' is not accepted: c is not a valid choice from {'a', 'b'}",
        "SchemaFit.kind = 'c' is not accepted: c is not a valid choice from {'b', 'a'}")
    with pytest.raises(UserError, match=r"^SchemaFit\.day = 'soon' is not accepted: "):
        check_value("SchemaFit", "day", PARAMS["day"], "soon")


def config(tmp_path: Path, sections: dict[str, Any], origins: dict[str, str] | None = None,
           task: str | list[str] = "SchemaFit"):
    (tmp_path / "input").mkdir(exist_ok=True)
    document = {"RunConfig": {"experiment_name": "e", "task": task}, **sections}
    return from_document(tmp_path / "luigi.toml", document, tmp_path, origins or {})


def test_sections_come_back_checked_and_normalised(tmp_path: Path):
    values = check_sections(config(tmp_path, {
        "SchemaFit": {"seed": 2, "columns": ["a"], "params": {"d": 1}},
        "SchemaScore": {}, "core": {"workers": 2}}), TASKS)
    assert values == {"SchemaFit": {"seed": 2, "columns": ("a",), "params": {"d": 1}},
                      "SchemaScore": {}}


def test_an_unknown_key_is_refused_with_a_suggestion_and_the_known_keys(tmp_path: Path):
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"SchemaFit": {"sed": 1}}), TASKS)
    file = tmp_path / "luigi.toml"  # named like an unknown section: the key is in the file
    assert str(refused.value) == (
        f"{file}: unknown key SchemaFit.sed (did you mean 'seed'?); SchemaFit takes: seed, "
        "alpha, scale, name, params, columns, kind, day")
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"SchemaScore": {"folds": 1}}), TASKS)
    assert str(refused.value) == f"{file}: unknown key SchemaScore.folds; SchemaScore takes: none"


def test_the_runner_s_own_parameters_are_not_config_keys(tmp_path: Path):
    with pytest.raises(UserError, match=r"luigi\.toml: unknown key SchemaFit\.run_id; "
                                        r"SchemaFit takes: "):
        check_sections(config(tmp_path, {"SchemaFit": {"run_id": "x"}}), TASKS)


def test_an_error_names_the_flag_that_set_the_value(tmp_path: Path):
    origins = {"SchemaFit.seed": "--set 'SchemaFit.seed=\"1\"'"}
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"SchemaFit": {"seed": "1"}}, origins), TASKS)
    assert str(refused.value) == (
        "--set 'SchemaFit.seed=\"1\"': SchemaFit.seed = '1' has the wrong type: expected an "
        "integer (the random seed)")


def test_an_unknown_section_is_refused_with_a_suggestion(tmp_path: Path):
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"SchemaFt": {"seed": 1}}), TASKS)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'luigi.toml'}: unknown section [SchemaFt] "
                              "(did you mean 'SchemaFit'?); ")
    assert message.endswith("tasks are: SchemaFit, SchemaScore")
    with pytest.raises(UserError, match=r"^--set 'X\.y=1': unknown section \[X\]; "):
        check_sections(config(tmp_path, {"X": {"y": 1}}, {"X": "--set 'X.y=1'"}), TASKS)


def test_a_bad_value_in_a_luigi_section_is_refused_before_luigi_reads_it(tmp_path: Path):
    with pytest.raises(UserError, match=r"^\[core\] workers = 'abc' is not accepted by Luigi "):
        check_sections(config(tmp_path, {"core": {"workers": "abc"}}), TASKS)
    with pytest.raises(UserError, match=r"^\[core\] workers = 1\.5 is not accepted by Luigi "
                                        r"\(expected an integer\)"):
        check_sections(config(tmp_path, {"core": {"workers": 1.5}}), TASKS)


def test_unknown_task_names_elsewhere_in_the_config_are_refused(tmp_path: Path):
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {}, task=["SchemaFit", "SchemaScor"]), TASKS)
    assert str(refused.value) == (
        f"{tmp_path / 'luigi.toml'}: unknown task 'SchemaScor' in RunConfig.task (did you mean "
        "'SchemaScore'?); known tasks: SchemaFit, SchemaScore")


def test_an_unknown_task_from_the_task_flag_names_the_flag_not_the_key(tmp_path: Path):
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {}, {"RunConfig.task": "--task 'SchemaFt'"},
                              task=["SchemaFt"]), TASKS)
    assert str(refused.value) == (
        "--task 'SchemaFt': unknown task 'SchemaFt' (did you mean 'SchemaFit'?); "
        "known tasks: SchemaFit, SchemaScore")


def test_a_misspelt_path_config_entry_names_the_file_and_the_closest_entry(tmp_path: Path):
    (tmp_path / "input").mkdir()
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"PathConfig": {"inptu": "./input/"}}), TASKS)
    assert str(refused.value) == (
        f"{tmp_path / 'luigi.toml'}: unknown entry PathConfig.inptu (did you mean 'input'?); "
        "PathConfig takes input (the data folder) and a task's name to pin its output: "
        "SchemaFit, SchemaScore")
    with pytest.raises(UserError) as refused:
        check_sections(config(tmp_path, {"PathConfig": {"SchemaFt": "runs:/abc"}},
                              {"PathConfig.SchemaFt": "--set 'PathConfig.SchemaFt=runs:/abc'"}),
                       TASKS)
    assert str(refused.value).startswith(
        "--set 'PathConfig.SchemaFt=runs:/abc': unknown entry PathConfig.SchemaFt "
        "(did you mean 'SchemaFit'?); ")
