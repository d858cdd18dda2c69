"""The earlier output a plan reason compares with (framework/planning/nearest.py)."""

from __future__ import annotations

from framework.outputs.signature import Signature
from framework.planning.nearest import nearest


def evaluator(folds: str, trainer: str = "t1", exp: str = "1") -> tuple[str, Signature]:
    return exp, Signature("Evaluator", {"folds": folds}, {"Trainer": trainer}, {}, {})


def preprocessor(data: str, exp: str) -> tuple[str, Signature]:
    return exp, Signature("Preprocessor", {}, {}, {"train.csv": data}, {})


def test_no_comparable_output_is_none_rather_than_another_experiments():
    iris = Signature("Preprocessor", {}, {}, {"train.csv": "iris"}, {})
    assert nearest([preprocessor("titanic", "1")], iris, experiment_id="2") is None
    assert nearest([], iris, experiment_id="2") is None
    assert nearest([preprocessor("titanic", "1")], iris, experiment_id="") is None  # new one


def test_without_an_experiment_to_prefer_every_output_compares():
    iris = Signature("Preprocessor", {}, {}, {"train.csv": "iris"}, {})
    found = nearest([preprocessor("titanic", "1")], iris, experiment_id=None)
    assert found is not None and found[1] == ["input train.csv changed"]


def test_the_same_data_in_another_experiment_is_comparable():
    new = Signature("Preprocessor", {"scale": "True"}, {}, {"train.csv": "titanic"}, {})
    found = nearest([preprocessor("titanic", "1")], new, experiment_id="3")
    assert found is not None and found[1] == ["parameter Preprocessor.scale (unset) -> True"]


def test_the_same_experiment_comes_first_then_the_fewest_differences():
    new = Signature("Evaluator", {"folds": "10"}, {"Trainer": "t1"}, {}, {})
    newest_other_experiment = evaluator("10", trainer="t2", exp="2")  # an iris run, say
    older_unrelated_upstream = evaluator("3", trainer="t0")
    same_trainer = evaluator("5")
    found = nearest([newest_other_experiment, older_unrelated_upstream, same_trainer], new, "1")
    assert found is not None and found[1] == ["parameter Evaluator.folds 5 -> 10"]
