"""Cross-validation metrics that follow the problem, and out-of-fold predictions and scores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from tabular.contract import Problem
from tabular.estimators import make_estimator
from tabular.evaluation import (
    LOWER_IS_BETTER,
    METRIC_NAMES,
    CVResult,
    cross_validate_model,
    first_metric,
)
from tabular.features import FeatureSpec, build_features

Data = tuple[pd.DataFrame, pd.Series]
# No conftest.py in tests/unit/tabular: tests/conftest.py is imported as `conftest`, and
# a second conftest collected before it would take that name.


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Small fits run many times faster on one BLAS thread than on threads fighting for two
    busy cores (lbfgs: 0.2 s against 0.01 s); module-scoped to leave other tests alone."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def iris() -> Data:
    """150 rows, 4 numeric features, a 3-class text target (``setosa``, ...)."""
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    names = np.asarray(data.target_names)[data.target.to_numpy()]
    return data.data, pd.Series(names, name="species")


@pytest.fixture(scope="module")
def cancer() -> Data:
    """569 rows of breast_cancer, cut to 6 features to keep fits fast; 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data.iloc[:, :6], data.target.rename("malignant")


@pytest.fixture(scope="module")
def diabetes() -> Data:
    """442 rows, 10 numeric features, a float target."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    return data.data, data.target.rename("progression")


def model(X: pd.DataFrame, path: str, problem: Problem, seed: int = 0,
          **params: Any) -> Pipeline:
    """Features (scaled numbers) then the estimator, as the Trainer composes them."""
    spec = FeatureSpec(columns=tuple(X.columns), scale_numeric=True)
    return Pipeline([("features", build_features(spec)),
                     ("estimator", make_estimator(path, params, seed, problem))])


def keys(problem: Problem) -> set[str]:
    return {f"cv_{name}_{stat}" for name in METRIC_NAMES[problem] for stat in ("mean", "std")}


@pytest.fixture(scope="module")
def binary_cv(cancer: Data) -> CVResult:
    X, y = cancer
    return cross_validate_model(model(X, "sklearn.linear_model.LogisticRegression", "binary"),
                                X, y, "binary", 5, 0)


def test_binary_metrics_and_out_of_fold_results(binary_cv: CVResult, cancer: Data) -> None:
    _, y = cancer
    assert set(binary_cv.metrics) == keys("binary")
    assert all(isinstance(value, float) for value in binary_cv.metrics.values())
    assert binary_cv.metrics["cv_accuracy_mean"] >= 0.85
    assert binary_cv.metrics["cv_roc_auc_mean"] >= 0.9
    assert binary_cv.oof_scores is not None
    assert binary_cv.oof_predictions.shape == binary_cv.oof_scores.shape == (len(y),)
    assert set(np.unique(binary_cv.oof_predictions)) == {0, 1}
    assert roc_auc_score(y, binary_cv.oof_scores) >= 0.9, "scores rank the positive class first"
    # Folds are (almost) equal-sized, so pooled OOF accuracy matches the mean fold accuracy.
    pooled = accuracy_score(y, binary_cv.oof_predictions)
    assert pooled == pytest.approx(binary_cv.metrics["cv_accuracy_mean"], abs=0.003)


@pytest.mark.parametrize("labels", [("no", "yes"), (False, True)], ids=["text", "bool"])
def test_binary_labels_of_any_type_score_like_0_and_1(
    binary_cv: CVResult, cancer: Data, labels: tuple[Any, Any]
) -> None:
    X, y = cancer
    relabelled = y.map(dict(enumerate(labels)))
    result = cross_validate_model(model(X, "sklearn.linear_model.LogisticRegression", "binary"),
                                  X, relabelled, "binary", 5, 0)
    assert result.metrics == pytest.approx(binary_cv.metrics), "f1/roc_auc use classes_[1]"
    np.testing.assert_array_equal(result.oof_predictions,
                                  np.asarray(labels, dtype=object)[binary_cv.oof_predictions])
    np.testing.assert_allclose(result.oof_scores, binary_cv.oof_scores)


def test_binary_scores_prefer_decision_function(cancer: Data) -> None:
    X, y = cancer
    ridge = cross_validate_model(model(X, "sklearn.linear_model.RidgeClassifier", "binary"),
                                 X, y, "binary", 3, 0)
    assert ridge.oof_scores is not None and (ridge.oof_scores < 0).any()
    tree = cross_validate_model(model(X, "sklearn.tree.DecisionTreeClassifier", "binary",
                                      max_depth=3), X, y, "binary", 3, 0)
    assert tree.oof_scores is not None
    assert ((tree.oof_scores >= 0) & (tree.oof_scores <= 1)).all(), "predict_proba of class 1"


def test_multiclass_text_labels_with_predict_proba(iris: Data) -> None:
    X, y = iris
    result = cross_validate_model(model(X, "sklearn.linear_model.LogisticRegression",
                                        "multiclass"), X, y, "multiclass", 5, 0)
    assert set(result.metrics) == keys("multiclass")
    assert result.metrics["cv_accuracy_mean"] >= 0.9
    assert result.metrics["cv_roc_auc_ovr_mean"] >= 0.95
    assert result.oof_scores is None
    assert set(result.oof_predictions) == {"setosa", "versicolor", "virginica"}
    assert accuracy_score(y, result.oof_predictions) == pytest.approx(
        result.metrics["cv_accuracy_mean"])


def test_multiclass_roc_auc_needs_predict_proba(iris: Data) -> None:
    X, y = iris
    ridge = model(X, "sklearn.linear_model.RidgeClassifier", "multiclass")
    assert not hasattr(ridge, "predict_proba")
    result = cross_validate_model(ridge, X, y, "multiclass", 5, 0)
    assert set(result.metrics) == keys("multiclass") - {"cv_roc_auc_ovr_mean",
                                                        "cv_roc_auc_ovr_std"}
    assert result.metrics["cv_f1_macro_mean"] > 0.5


def test_regression_metrics_and_out_of_fold_predictions(diabetes: Data) -> None:
    X, y = diabetes
    linear = model(X, "sklearn.linear_model.LinearRegression", "regression")
    result = cross_validate_model(linear, X, y, "regression", 5, 0)
    assert set(result.metrics) == keys("regression")
    assert 0.3 <= result.metrics["cv_r2_mean"] <= 0.6
    assert result.metrics["cv_rmse_mean"] >= result.metrics["cv_mae_mean"] > 0
    assert result.oof_scores is None
    # Shuffled, unstratified folds; the OOF values are the fold models' own predictions.
    expected = cross_val_predict(linear, X, y, cv=KFold(5, shuffle=True, random_state=0))
    np.testing.assert_allclose(result.oof_predictions, expected)


def test_regression_on_an_integer_target_keeps_fractional_predictions(diabetes: Data) -> None:
    X, y = diabetes
    counts = y.round().astype(int)
    linear = model(X, "sklearn.linear_model.LinearRegression", "regression")
    result = cross_validate_model(linear, X, counts, "regression", 5, 0)
    expected = cross_val_predict(linear, X, counts, cv=KFold(5, shuffle=True, random_state=0))
    np.testing.assert_allclose(result.oof_predictions, expected)


def test_cv_is_deterministic_for_a_seed_and_leaves_the_model_unfitted(cancer: Data) -> None:
    X, y = cancer

    def run(cv_seed: int, model_seed: int = 0) -> CVResult:
        boosted = model(X, "sklearn.ensemble.GradientBoostingClassifier", "binary", model_seed,
                        n_estimators=15, subsample=0.7, max_depth=2)
        result = cross_validate_model(boosted, X, y, "binary", 3, cv_seed)
        with pytest.raises(NotFittedError):
            check_is_fitted(boosted)
        return result

    first, again = run(0), run(0)
    assert first.metrics == again.metrics
    np.testing.assert_array_equal(first.oof_scores, again.oof_scores)
    assert run(1).metrics != first.metrics, "the fold seed moves the folds"
    assert run(0, model_seed=1).metrics != first.metrics, "the model seed reaches the model"


def test_headline_metric_and_direction() -> None:
    assert first_metric("binary") == "cv_accuracy_mean"
    assert first_metric("multiclass") == "cv_accuracy_mean"
    assert first_metric("regression") == "cv_rmse_mean"
    assert set(LOWER_IS_BETTER) == {"rmse", "mae"}


def test_each_fold_is_reported_as_it_is_scored(cancer: Data):
    X, y = cancer
    seen: list[tuple[int, dict[str, float]]] = []
    result = cross_validate_model(model(X, "sklearn.linear_model.LogisticRegression", "binary"),
                                  X, y, "binary", 3, 0,
                                  on_fold=lambda number, scores: seen.append((number, scores)))
    assert [number for number, _ in seen] == [1, 2, 3]
    assert set(seen[0][1]) == set(METRIC_NAMES["binary"])
    for name in METRIC_NAMES["binary"]:
        values = [scores[name] for _, scores in seen]
        assert result.metrics[f"cv_{name}_mean"] == pytest.approx(np.mean(values))
        assert result.metrics[f"cv_{name}_std"] == pytest.approx(np.std(values))


def test_a_fold_callback_that_raises_stops_the_cross_validation(iris: Data):
    X, y = iris
    calls: list[int] = []

    def stop_after_two(number: int, scores: dict[str, float]) -> None:
        calls.append(number)
        if number == 2:
            raise KeyboardInterrupt("enough")

    with pytest.raises(KeyboardInterrupt, match="enough"):
        cross_validate_model(model(X, "sklearn.linear_model.LogisticRegression", "multiclass"),
                             X, y, "multiclass", 5, 0, on_fold=stop_after_two)
    assert calls == [1, 2]


def test_fold_scores_equal_scikit_learns_cross_validate(diabetes: Data):
    from sklearn.model_selection import cross_validate

    X, y = diabetes
    pipeline = model(X, "sklearn.linear_model.Ridge", "regression")
    result = cross_validate_model(pipeline, X, y, "regression", 4, 3)
    reference = cross_validate(pipeline, X, y, cv=KFold(4, shuffle=True, random_state=3),
                               scoring="r2")
    assert result.metrics["cv_r2_mean"] == float(np.mean(reference["test_score"]))
