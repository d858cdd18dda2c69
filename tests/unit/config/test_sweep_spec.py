"""``[Sweep]`` and ``--sweep``: the spec read and checked, expanded (grid and random), its
digest, and each configuration assigned the way ``--set`` would."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import luigi
import pytest

from framework.config.file import from_document
from framework.config.sweep_points import configuration, describe, expand, grid_digest
from framework.config.sweep_spec import SweepSpec, read_spec
from framework.core.errors import UserError


class SweepFit(luigi.Task):
    seed = luigi.IntParameter(default=0)
    alpha = luigi.FloatParameter(default=1.0)
    params = luigi.DictParameter(default={})
    run_id = luigi.Parameter(default="")  # the runner's own: never sweepable


class SweepScore(luigi.Task):
    folds = luigi.IntParameter(default=5)


REGISTRY: dict[str, type[luigi.Task]] = {"SweepFit": SweepFit, "SweepScore": SweepScore}


def spec(table: dict[str, Any], flags: tuple[str, ...] = ()) -> SweepSpec:
    return read_spec(table, flags, REGISTRY)


def refusal(table: dict[str, Any], flags: tuple[str, ...] = ()) -> str:
    with pytest.raises(UserError) as refused:
        spec(table, flags)
    return str(refused.value)


def test_a_grid_table_is_read_with_its_defaults():
    read = spec({"SweepFit.seed": [0, 1], "SweepFit.params.depth": [2, 4]})
    assert read == SweepSpec(
        space={"SweepFit.seed": [0, 1], "SweepFit.params.depth": [2, 4]},
        origins={"SweepFit.seed": "[Sweep]", "SweepFit.params.depth": "[Sweep]"},
        raw={"SweepFit.seed": [0, 1], "SweepFit.params.depth": [2, 4]})
    assert (read.method, read.samples, read.seed, read.metric, read.goal, read.register) == (
        "grid", 10, 0, None, "maximize", None)


def test_flags_add_and_replace_entries_and_options():
    read = spec({"SweepFit.seed": [0, 1], "metric": "m"},
                ("SweepFit.seed=[7, 8]", "SweepScore.folds=[2]", "goal=minimize"))
    assert read.space == {"SweepFit.seed": [7, 8], "SweepScore.folds": [2]}
    assert read.origins == {"SweepFit.seed": "--sweep 'SweepFit.seed=[7, 8]'",
                            "SweepScore.folds": "--sweep 'SweepScore.folds=[2]'"}
    assert (read.metric, read.goal) == ("m", "minimize")


@pytest.mark.parametrize("flag", ["SweepFit.seed", "=[1]", " =[1]"])
def test_a_malformed_flag_shows_the_form(flag: str):
    assert refusal({}, (flag,)) == (f"--sweep {flag!r}: write it as Task.param=[v1, v2], "
                                    "e.g. --sweep 'Trainer.seed=[0,1]'")


def test_an_unknown_option_is_refused_with_a_suggestion():
    assert refusal({"SweepFit.seed": [0], "metod": "grid"}) == (
        "[Sweep]: unknown sweep option 'metod' (did you mean 'method'?); options are method, "
        "samples, seed, trials, pruner, timeout, study, max_configurations, metric, goal, "
        "register, and swept keys look like Task.param")


def test_an_unquoted_dotted_key_is_told_to_be_quoted():
    """TOML reads ``SweepFit.seed = [0, 1]`` unquoted as a table ``SweepFit = {seed = [...]}``."""
    assert refusal(tomllib.loads("SweepFit.seed = [0, 1]")) == (
        '[Sweep]: SweepFit.seed unquoted makes a TOML table SweepFit, not a swept key: '
        'write "SweepFit.seed" = [...] (quoted)')
    assert refusal(tomllib.loads("SweepFit.params.depth = [2, 3]")).startswith(
        '[Sweep]: SweepFit.params.depth unquoted makes a TOML table SweepFit, ')
    assert refusal(tomllib.loads("SweepFt.seed = [0, 1]")) == (  # a misspelt task too
        '[Sweep]: SweepFt.seed unquoted makes a TOML table SweepFt, not a swept key: '
        'write "SweepFit.seed" = [...] (quoted)')


def test_an_unquoted_key_with_a_distribution_is_told_its_quoted_form():
    assert refusal(tomllib.loads("SweepFit.seed = {randint = [0, 9]}")) == (
        '[Sweep]: SweepFit.seed unquoted makes a TOML table SweepFit, not a swept key: '
        'write "SweepFit.seed" = { randint = [...] } (quoted)')
    assert refusal(tomllib.loads("SweepFit.params.alpha = {loguniform = [0.1, 1]}")).endswith(
        'write "SweepFit.params.alpha" = { loguniform = [...] } (quoted)')


def test_nothing_to_sweep_is_refused():
    assert refusal({"method": "grid"}) == (
        '[Sweep]: nothing to sweep; add e.g. "Trainer.seed" = [0, 1], or drop the section')


def test_an_unknown_method_is_refused():
    # Only the start: the list of methods grows (adaptive searches).
    assert refusal({"SweepFit.seed": [0], "method": "nonsense"}).startswith(
        "[Sweep] method = 'nonsense': expected ")


@pytest.mark.parametrize(("option", "value", "wanted"), [
    ("samples", 0, "a positive integer"),
    ("samples", True, "a positive integer"),
    ("samples", 2.5, "a positive integer"),
    ("seed", "1", "an integer"),
    ("seed", False, "an integer"),
    ("goal", "max", '"maximize" or "minimize"'),
    ("metric", 3, "a string"),
    ("register", ["m"], "a string"),
])
def test_a_bad_option_value_names_what_is_expected(option: str, value: Any, wanted: str):
    assert refusal({"SweepFit.seed": [0], option: value}) == (
        f"[Sweep] {option} = {value!r}: expected {wanted}")


def test_an_unknown_task_or_parameter_is_refused_with_a_suggestion():
    assert refusal({"SweepFt.seed": [0]}) == (
        "[Sweep]: unknown task 'SweepFt' in 'SweepFt.seed' (did you mean 'SweepFit'?); "
        "known tasks: SweepFit, SweepScore")
    assert refusal({}, ("SweepFit.sead=[0]",)) == (
        "--sweep 'SweepFit.sead=[0]': unknown key SweepFit.sead (did you mean 'seed'?); "
        "SweepFit takes: seed, alpha, params")
    assert refusal({"SweepFit.run_id": ["x"]}).startswith(
        "[Sweep]: unknown key SweepFit.run_id; SweepFit takes: ")


def test_a_key_inside_a_parameter_that_is_no_table_is_refused():
    assert refusal({"SweepFit.seed.x": [0]}) == (
        "[Sweep]: SweepFit.seed is not a table, so 'SweepFit.seed.x' names nothing; "
        "sweep SweepFit.seed itself")


@pytest.mark.parametrize(("value", "twice"), [([1, 1], "1"), ([0.5, 2, 0.5], "0.5"),
                                              ([{"a": 1, "b": 2}, {"b": 2, "a": 1}],
                                               '{"a": 1, "b": 2}')])
def test_a_value_listed_twice_is_refused(value: list[Any], twice: str):
    assert refusal({"SweepFit.alpha": value}) == (
        f"[Sweep]: SweepFit.alpha lists {twice} twice; give each value once")


def test_values_equal_in_python_but_not_in_toml_are_distinct():
    assert spec({"SweepFit.alpha": [1, 1.0, True]}).space["SweepFit.alpha"] == [1, 1.0, True]


@pytest.mark.parametrize("value", [[], 3, "a", {"loguniform": [0.1, 1]}])
def test_a_grid_value_must_be_a_non_empty_list(value: Any):
    assert refusal({"SweepFit.alpha": value}) == (
        f"[Sweep]: SweepFit.alpha = {value!r}: give a non-empty list of values, e.g. [1, 2], "
        'or with method = "random" or "tpe" a distribution { loguniform | uniform | '
        "randint = [low, high] }")


def test_random_distributions_become_scipy_distributions():
    read = spec({"method": "random", "SweepFit.alpha": {"loguniform": [0.01, 1]},
                 "SweepFit.params.c": {"uniform": [1, 3]}, "SweepFit.seed": {"randint": [0, 4]},
                 "SweepScore.folds": [2, 3]})
    alpha, c, seed = (read.space[key] for key in ("SweepFit.alpha", "SweepFit.params.c",
                                                  "SweepFit.seed"))
    assert (alpha.dist.name, alpha.args) == ("loguniform", (0.01, 1))
    assert (c.dist.name, c.kwds) == ("uniform", {"loc": 1, "scale": 2})
    assert (seed.dist.name, seed.args) == ("randint", (0, 4))
    assert read.space["SweepScore.folds"] == [2, 3]
    assert read.raw["SweepFit.alpha"] == {"loguniform": [0.01, 1]}


@pytest.mark.parametrize("table", [{"normal": [0, 1]}, {"uniform": [1, 1]}, {"uniform": [2, 1]},
                                   {"uniform": [0]}, {"uniform": [True, 2]},
                                   {"uniform": ["0", 1]}, {"uniform": [0, 1], "randint": [0, 1]},
                                   {}])
def test_a_malformed_distribution_shows_the_forms(table: dict[str, Any]):
    assert refusal({"method": "random", "SweepFit.alpha": table}) == (
        f"[Sweep]: SweepFit.alpha = {table!r}: write one of {{ loguniform = [low, high] }}, "
        "{ uniform = [low, high] }, { randint = [low, high] } with low < high")


def test_distribution_bounds_their_kind_needs():
    assert refusal({"method": "random", "SweepFit.alpha": {"loguniform": [0, 1]}}) == (
        "[Sweep]: SweepFit.alpha: loguniform needs 0 < low < high")
    assert refusal({"method": "random", "SweepFit.seed": {"randint": [0, 2.5]}}) == (
        "[Sweep]: SweepFit.seed: randint needs integer bounds")


def test_a_grid_expands_to_every_combination_in_the_order_written_first_key_slowest():
    read = spec({"SweepFit.seed": [0, 1], "SweepFit.alpha": [1.0, 0.1]})
    assert [list(point.items()) for point in expand(read)] == [
        [("SweepFit.seed", 0), ("SweepFit.alpha", 1.0)],
        [("SweepFit.seed", 0), ("SweepFit.alpha", 0.1)],
        [("SweepFit.seed", 1), ("SweepFit.alpha", 1.0)],
        [("SweepFit.seed", 1), ("SweepFit.alpha", 0.1)],
    ]
    # A flag for a key of the table keeps the table's place; a new key comes after them.
    flagged = spec({"SweepFit.seed": [0, 1]}, ("SweepScore.folds=[2, 3]", "SweepFit.seed=[5]"))
    assert expand(flagged) == [{"SweepFit.seed": 5, "SweepScore.folds": 2},
                               {"SweepFit.seed": 5, "SweepScore.folds": 3}]


def test_random_samples_are_plain_python_values_inside_the_space_and_repeatable():
    table = {"method": "random", "samples": 5, "seed": 3,
             "SweepFit.alpha": {"loguniform": [0.01, 1]}, "SweepFit.seed": {"randint": [0, 4]},
             "SweepScore.folds": [2, 3]}
    points = expand(spec(table))
    assert len(points) == 5
    for point in points:
        assert set(point) == {"SweepFit.alpha", "SweepFit.seed", "SweepScore.folds"}
        assert type(point["SweepFit.alpha"]) is float and 0.01 <= point["SweepFit.alpha"] <= 1
        assert type(point["SweepFit.seed"]) is int and 0 <= point["SweepFit.seed"] < 4
        assert point["SweepScore.folds"] in (2, 3)
    assert expand(spec(table)) == points
    assert expand(spec({**table, "seed": 4})) != points


def test_random_over_lists_alone_never_repeats_a_configuration():
    points = expand(spec({"method": "random", "samples": 3, "SweepFit.seed": [0, 1, 2, 3]}))
    assert len(points) == 3
    assert len({point["SweepFit.seed"] for point in points}) == 3


def test_the_grid_digest_follows_what_the_expansion_depends_on():
    base = {"SweepFit.seed": [0, 1], "SweepFit.alpha": [0.1]}
    digest = grid_digest(spec(base))
    assert len(digest) == 64
    # Where a value came from, how the result is judged and the random options do not count.
    assert grid_digest(spec({"SweepFit.seed": [0]}, ("SweepFit.seed=[0, 1]",
                                                     "SweepFit.alpha=[0.1]"))) == digest
    assert grid_digest(spec({**base, "metric": "m", "goal": "minimize", "register": "x",
                             "samples": 3, "seed": 1})) == digest
    # The order of the keys does: it is the order of the configurations.
    for changed in ({"SweepFit.alpha": [0.1], "SweepFit.seed": [0, 1]},
                    {**base, "SweepFit.seed": [1, 0]}, {**base, "SweepFit.alpha": [0.2]},
                    {**base, "method": "random"}):
        assert grid_digest(spec(changed)) != digest, changed


def test_a_random_digest_follows_samples_and_seed_not_the_order_of_keys():
    base = {"method": "random", "samples": 2, "SweepFit.seed": [0, 1, 2],
            "SweepFit.alpha": [0.1, 0.2]}
    digest = grid_digest(spec(base))
    assert grid_digest(spec({"method": "random", "samples": 2, "SweepFit.alpha": [0.1, 0.2],
                             "SweepFit.seed": [0, 1, 2]})) == digest
    for changed in ({"samples": 3}, {"seed": 1}):
        assert grid_digest(spec({**base, **changed})) != digest, changed


def test_a_configuration_is_the_base_with_the_point_assigned_like_set(tmp_path: Path):
    (tmp_path / "input").mkdir()
    document = {"RunConfig": {"experiment_name": "e", "task": "SweepFit"},
                "SweepFit": {"seed": 0, "params": {"depth": 3, "c": 1.0}}}
    base = from_document(tmp_path / "luigi.toml", document, tmp_path,
                         {"SweepFit.seed": "--set 'SweepFit.seed=0'"})
    read = spec({"SweepFit.params.c": [0.5], "SweepScore.folds": [2]})
    one = configuration(base, {"SweepFit.params.c": 0.5, "SweepScore.folds": 2}, read, tmp_path)
    assert one.sections == {"SweepFit": {"seed": 0, "params": {"depth": 3, "c": 0.5}},
                            "SweepScore": {"folds": 2}}
    assert one.origins == {"SweepFit.seed": "--set 'SweepFit.seed=0'",
                           "SweepFit.params": "[Sweep]", "SweepScore": "[Sweep]",
                           "SweepScore.folds": "[Sweep]"}
    assert one.run == base.run
    assert document["SweepFit"] == {"seed": 0, "params": {"depth": 3, "c": 1.0}}
    assert "SweepScore" not in base.sections


def test_describe_names_each_value_as_json():
    assert describe({"SweepFit.params.c": 0.1, "SweepFit.seed": 1, "SweepFit.kind": "svc",
                     "SweepFit.flag": True}) == (
        'SweepFit.params.c=0.1 SweepFit.seed=1 SweepFit.kind="svc" SweepFit.flag=true')
    assert describe({}) == ""
