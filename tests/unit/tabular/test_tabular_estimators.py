"""Building the configured estimator: the right kind for the problem, checked parameters, the
seed, and one-line errors that suggest the fix."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.utils.validation import check_is_fitted

from tabular.estimators import (
    EstimatorConfigError,
    feature_target,
    kind_for,
    make_estimator,
    sklearn_paths,
)

FOREST = "sklearn.ensemble.RandomForestClassifier"


def error_of(path: str, params: dict[str, Any], problem: str = "binary") -> str:
    with pytest.raises(EstimatorConfigError) as error:
        make_estimator(path, params, 0, problem)  # type: ignore[arg-type]
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_params_and_seed_are_applied_and_unfitted() -> None:
    forest = make_estimator(FOREST, {"n_estimators": 7, "max_depth": 3}, 42, "binary")
    assert isinstance(forest, RandomForestClassifier)
    params = forest.get_params()
    assert (params["n_estimators"], params["max_depth"], params["random_state"]) == (7, 3, 42)
    with pytest.raises(NotFittedError):
        check_is_fitted(forest)


def test_explicit_random_state_wins_over_seed() -> None:
    assert make_estimator(FOREST, {"random_state": 5}, 42, "multiclass").random_state == 5


def test_estimators_without_random_state_are_fine() -> None:
    knn = make_estimator("sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": 3}, 1,
                         "binary")
    assert "random_state" not in knn.get_params()


@pytest.mark.parametrize(
    ("path", "problem", "cls"),
    [("sklearn.linear_model.RidgeClassifier", "binary", RidgeClassifier),
     ("sklearn.linear_model.RidgeClassifier", "multiclass", RidgeClassifier),
     ("sklearn.linear_model.Ridge", "regression", Ridge)],
)
def test_the_kind_follows_the_problem(path: str, problem: str, cls: type) -> None:
    assert type(make_estimator(path, {}, 0, problem)) is cls  # type: ignore[arg-type]


def test_kind_for() -> None:
    assert [kind_for(p) for p in ("binary", "multiclass", "regression")] == [
        "classifier", "classifier", "regressor"]


@pytest.mark.parametrize(
    ("path", "problem", "expected"),
    [
        ("sklearn.linear_model.Ridge", "binary", "sklearn.linear_model.Ridge (Trainer.estimator) "
         "is not a classifier, and the problem is binary: use "
         "sklearn.linear_model.RidgeClassifier"),
        (FOREST, "regression", f"{FOREST} (Trainer.estimator) is not a regressor, and the problem "
         "is regression: use sklearn.ensemble.RandomForestRegressor"),
        ("sklearn.linear_model.LinearRegression", "multiclass", "is not a classifier, and the "
         "problem is multiclass: use sklearn.linear_model.LogisticRegression"),
    ],
)
def test_wrong_kind_for_the_problem(path: str, problem: str, expected: str) -> None:
    assert expected in error_of(path, {}, problem)


@pytest.mark.parametrize(
    ("path", "fragments"),
    [
        ("sklearn.ensemble.RandomForestClasifier",
         ["module sklearn.ensemble has no 'RandomForestClasifier'", f"(use {FOREST})"]),
        ("sklearn.ensembl.RandomForestClassifier",
         ["cannot import 'sklearn.ensembl'", f"(use {FOREST})"]),
        ("RandomForestClassifier", ["is not an import path", f"(use {FOREST})"]),
        ("pandas.DataFrame", ["'pandas' (", "is not code this runner will import"]),
        ("sklearn.pipeline.make_pipeline", ["is not a scikit-learn estimator class: use a "
                                            f"classifier such as {FOREST}"]),
        ("sklearn.ensemble.VotingClassifier", ["cannot be built without arguments",
                                               "missing 1 required positional argument"]),
    ],
)
def test_bad_estimator_path(path: str, fragments: list[str]) -> None:
    message = error_of(path, {})
    assert message.startswith(("Trainer.estimator", path))
    for fragment in fragments:
        assert fragment in message


def test_suggestions_come_from_sklearn_of_the_right_kind() -> None:
    classifiers, regressors = sklearn_paths("classifier"), sklearn_paths("regressor")
    assert FOREST in classifiers and FOREST not in regressors
    assert "sklearn.linear_model.Ridge" in regressors
    assert all(not part.startswith("_") for path in classifiers for part in path.split("."))


def test_bad_param_name_suggests_the_closest_one() -> None:
    message = error_of(FOREST, {"n_estimator": 10})
    assert message == (f"{FOREST} has no parameter 'n_estimator' (did you mean 'n_estimators'?): "
                       "rename or remove it in Trainer.estimator_params")
    assert "(valid: bootstrap, ccp_alpha," in error_of(FOREST, {"zzzz": 1})


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        (FOREST, {"n_estimators": -1}, "'n_estimators' parameter of RandomForestClassifier"),
        (FOREST, {"max_features": "most"}, "Got 'most' instead"),
        ("sklearn.linear_model.RidgeClassifier", {"alpha": "strong"}, "'alpha' parameter"),
    ],
)
def test_bad_param_value(path: str, params: dict[str, Any], fragment: str) -> None:
    message = error_of(path, params)
    assert message.startswith(f"invalid Trainer.estimator_params for {path}: ")
    assert fragment in message


def test_a_bad_seed_is_blamed_on_trainer_seed_and_a_bad_random_state_on_the_params() -> None:
    with pytest.raises(EstimatorConfigError) as refused:
        make_estimator(FOREST, {}, -5, "binary")
    assert str(refused.value).startswith(
        f"invalid Trainer.seed (the estimator's random_state) for {FOREST}: The 'random_state' "
        "parameter of RandomForestClassifier must be")
    assert error_of(FOREST, {"random_state": -1}).startswith(
        f"invalid Trainer.estimator_params for {FOREST}: ")


def test_feature_target_keeps_id_and_splits_off_the_target() -> None:
    frame = pd.DataFrame({"id": [1, 2], "a": [0.1, 0.2], "y": ["n", "y"]})
    X, y = feature_target(frame, "y")
    assert list(X.columns) == ["id", "a"], "the model's first step picks its features"
    assert y.tolist() == ["n", "y"]
