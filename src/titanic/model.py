"""Building the classifier named in the config and the full (features + classifier) model."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from titanic.data import TARGET_COLUMN, check_columns
from titanic.features import FeatureSpec, build_features

if TYPE_CHECKING:  # scikit-learn is imported on use: see titanic.features
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.pipeline import Pipeline

EXAMPLE_PATH = "sklearn.ensemble.RandomForestClassifier"


class EstimatorConfigError(ValueError):
    """The estimator part of the configuration names something unusable."""


@cache
def sklearn_classifier_paths() -> tuple[str, ...]:
    """Public import paths of scikit-learn's classifiers, for "did you mean" suggestions.

    Slow (imports every sklearn module), hence only called on the error path and cached.
    """
    from sklearn.utils import all_estimators

    paths = []
    for name, cls in all_estimators(type_filter="classifier"):
        # sklearn.ensemble._forest -> sklearn.ensemble: the public module re-exports it.
        public = [part for part in cls.__module__.split(".") if not part.startswith("_")]
        paths.append(".".join([*public, name]))
    return tuple(sorted(paths))


def _did_you_mean(wrong: str, candidates: list[str] | tuple[str, ...]) -> str:
    """Closest candidate by full path, else by the last dotted part (the class name)."""
    close = difflib.get_close_matches(wrong, candidates, n=1)
    if not close:
        by_name = {path.rsplit(".", 1)[-1]: path for path in candidates}
        names = difflib.get_close_matches(wrong.rsplit(".", 1)[-1], list(by_name), n=1)
        close = [by_name[names[0]]] if names else []
    return f"use {close[0]}" if close else f"use an import path such as {EXAMPLE_PATH}"


def import_estimator_class(import_path: str) -> type[BaseEstimator]:
    """The class at ``import_path`` ("package.module.ClassName"), checked to be an estimator."""
    from sklearn.base import BaseEstimator

    module_name, _, class_name = import_path.rpartition(".")
    if not module_name:
        raise EstimatorConfigError(
            f"estimator {import_path!r} is not an import path: "
            f"{_did_you_mean(import_path, sklearn_classifier_paths())}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise EstimatorConfigError(
            f"cannot import module {module_name!r} for estimator {import_path!r}: "
            f"{_did_you_mean(import_path, sklearn_classifier_paths())}"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise EstimatorConfigError(
            f"module {module_name} has no {class_name!r}: "
            f"{_did_you_mean(import_path, sklearn_classifier_paths())}"
        )
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise EstimatorConfigError(
            f"{import_path} is not a scikit-learn estimator class: "
            f"use a classifier class such as {EXAMPLE_PATH}"
        )
    return cls


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _check_param_names(
    estimator: BaseEstimator, import_path: str, params: Mapping[str, Any]
) -> None:
    valid = sorted(estimator.get_params(deep=True))
    for name in params:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(valid)}"
            raise EstimatorConfigError(
                f"{import_path} has no parameter {name!r} ({hint}): "
                "rename or remove it in the estimator params"
            )


def make_estimator(import_path: str, params: Mapping[str, Any], seed: int) -> ClassifierMixin:
    """Unfitted classifier ``import_path(**params)`` with ``random_state=seed`` if it has one.

    An explicit ``random_state`` in ``params`` wins over ``seed``. The parameters are checked
    with scikit-learn's own validation, so a bad class, name or value raises
    ``EstimatorConfigError`` here rather than at fit time. (Constraints sklearn only checks
    while fitting, such as incompatible solver/penalty pairs, still surface at fit.)
    """
    from sklearn.base import is_classifier

    cls = import_estimator_class(import_path)
    try:
        estimator = cls()
    except TypeError as error:
        raise EstimatorConfigError(
            f"{import_path} cannot be built without arguments ({_one_line(str(error))}): "
            f"use a classifier such as {EXAMPLE_PATH}"
        ) from None
    if not is_classifier(estimator):
        raise EstimatorConfigError(
            f"{import_path} is not a classifier: "
            f"{_did_you_mean(import_path, sklearn_classifier_paths())}"
        )
    _check_param_names(estimator, import_path, params)
    seeded = {"random_state": seed} if "random_state" in estimator.get_params(deep=False) else {}
    try:
        estimator.set_params(**{**seeded, **params})
        validate = getattr(estimator, "_validate_params", None)
        if validate is not None:  # sklearn's own constraint check, absent on third-party models
            validate()
    except (ValueError, TypeError) as error:
        raise EstimatorConfigError(
            f"invalid estimator params for {import_path}: {_one_line(str(error))} "
            "Fix the value in the estimator params."
        ) from None
    return estimator


def check_estimator(import_path: str, params: Mapping[str, Any], seed: int) -> None:
    """Raise ``EstimatorConfigError`` if ``make_estimator`` would; never fits anything."""
    make_estimator(import_path, params, seed)


def make_model(spec: FeatureSpec, estimator: ClassifierMixin) -> Pipeline:
    """Unfitted full model: raw rows -> ``build_features(spec)`` -> ``estimator``."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", build_features(spec)), ("classifier", estimator)])


def feature_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Split a raw train frame into X (every other column, PassengerId included) and y.

    X keeps the raw columns because the model's first step selects and engineers its own
    features; this is what lets the fitted model predict straight from test.csv rows.
    """
    check_columns(frame.columns, [TARGET_COLUMN], where="training data")
    return frame.drop(columns=[TARGET_COLUMN]), frame[TARGET_COLUMN].astype(int)
