"""Estimator construction and validation, and the full raw-rows-in model."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from titanic.data import MissingColumnsError
from titanic.features import FeatureSpec
from titanic.model import (
    EstimatorConfigError,
    check_estimator,
    feature_target,
    make_estimator,
    make_model,
)

FOREST = "sklearn.ensemble.RandomForestClassifier"


def test_make_estimator_applies_params_and_seed() -> None:
    forest = make_estimator(FOREST, {"n_estimators": 7, "max_depth": 3}, seed=42)
    params = forest.get_params()
    assert (params["n_estimators"], params["max_depth"], params["random_state"]) == (7, 3, 42)
    assert isinstance(
        make_estimator("sklearn.linear_model.RidgeClassifier", {}, 0), RidgeClassifier
    )


def test_explicit_random_state_wins_over_seed() -> None:
    forest = make_estimator(FOREST, {"random_state": 5}, seed=42)
    assert forest.get_params()["random_state"] == 5


def test_estimators_without_random_state_are_fine() -> None:
    knn = make_estimator("sklearn.neighbors.KNeighborsClassifier", {"n_neighbors": 3}, seed=1)
    assert "random_state" not in knn.get_params()


@pytest.mark.parametrize(
    ("import_path", "fragment"),
    [
        ("sklearn.ensemble.RandomForestClasifier", "use sklearn.ensemble.RandomForestClassifier"),
        ("sklearn.ensembl.RandomForestClassifier", "cannot import module 'sklearn.ensembl'"),
        ("RandomForestClassifier", "use sklearn.ensemble.RandomForestClassifier"),
        (
            "sklearn.linear_model.Ridge",
            "not a classifier: use sklearn.linear_model.RidgeClassifier",
        ),
        ("pandas.DataFrame", "not a scikit-learn estimator class"),
    ],
)
def test_bad_estimator_path_is_a_one_line_config_error(import_path: str, fragment: str) -> None:
    with pytest.raises(EstimatorConfigError) as error:
        make_estimator(import_path, {}, seed=0)
    assert isinstance(error.value, ValueError)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_param_name_suggests_the_closest_one() -> None:
    with pytest.raises(EstimatorConfigError, match=r"'n_estimator' \(did you mean 'n_estimators'"):
        make_estimator(FOREST, {"n_estimator": 10}, seed=0)


@pytest.mark.parametrize(
    ("import_path", "params"),
    [
        (FOREST, {"n_estimators": -1}),
        (FOREST, {"max_features": "most"}),
        ("sklearn.linear_model.RidgeClassifier", {"alpha": "strong"}),
    ],
)
def test_bad_param_value_is_a_one_line_config_error(
    import_path: str, params: dict[str, Any]
) -> None:
    with pytest.raises(EstimatorConfigError) as error:
        make_estimator(import_path, params, seed=0)
    assert f"invalid estimator params for {import_path}" in str(error.value)
    assert "\n" not in str(error.value)


def test_check_estimator_validates_without_fitting() -> None:
    check_estimator(FOREST, {"n_estimators": 5}, seed=0)  # valid: no exception
    with pytest.raises(EstimatorConfigError):
        check_estimator(FOREST, {"n_estimators": 0}, seed=0)


def test_make_model_is_unfitted_features_then_classifier() -> None:
    model = make_model(FeatureSpec(columns=("Sex",)), make_estimator(FOREST, {}, seed=0))
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["features", "classifier"]
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_feature_target_splits_off_survived(train_frame: pd.DataFrame) -> None:
    X, y = feature_target(train_frame)
    assert "Survived" not in X.columns
    assert "PassengerId" in X.columns
    assert len(X) == len(y) == 891
    assert set(y.unique()) == {0, 1}
    with pytest.raises(MissingColumnsError, match="training data has no column"):
        feature_target(X)


def test_fitted_model_predicts_from_raw_test_rows(
    fitted_default_model: Pipeline, test_frame: pd.DataFrame
) -> None:
    predictions = fitted_default_model.predict(test_frame)
    assert predictions.shape == (418,)
    assert set(np.unique(predictions)) <= {0, 1}
    # Shuffled columns plus an unknown one: the model selects what it needs by name.
    scrambled = test_frame.assign(Extra=1)[[*reversed(test_frame.columns), "Extra"]]
    np.testing.assert_array_equal(fitted_default_model.predict(scrambled), predictions)
    restored = pickle.loads(pickle.dumps(fitted_default_model))
    np.testing.assert_array_equal(restored.predict(test_frame), predictions)


def test_fitted_model_needs_the_configured_raw_columns(
    fitted_default_model: Pipeline, test_frame: pd.DataFrame
) -> None:
    with pytest.raises(MissingColumnsError, match="'Name'"):
        fitted_default_model.predict(test_frame.drop(columns=["Name"]))
