"""Building the estimator a config names, checked against the problem before anything fits."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tabular.contract import Problem
from tabular.imports import resolve

if TYPE_CHECKING:  # scikit-learn is imported on use: see tabular.features
    from sklearn.base import BaseEstimator

PROJECT_SRC = Path(__file__).resolve().parents[1]
EXAMPLES = {"classifier": "sklearn.ensemble.RandomForestClassifier",
            "regressor": "sklearn.ensemble.RandomForestRegressor"}


class EstimatorConfigError(ValueError):
    """The estimator part of the configuration names something unusable."""


def kind_for(problem: Problem) -> str:
    return "regressor" if problem == "regression" else "classifier"


@cache
def sklearn_paths(kind: str) -> tuple[str, ...]:
    """Public import paths of scikit-learn's classifiers or regressors, for suggestions.

    Slow (imports every sklearn module), hence only called on the error path and cached.
    """
    from sklearn.utils import all_estimators

    paths = []
    for name, cls in all_estimators(type_filter=kind):
        public = [part for part in cls.__module__.split(".") if not part.startswith("_")]
        paths.append(".".join([*public, name]))
    return tuple(sorted(paths))


def did_you_mean(wrong: str, kind: str) -> str:
    """Closest scikit-learn path by full path, else by class name."""
    candidates = sklearn_paths(kind)
    close = difflib.get_close_matches(wrong, candidates, n=1)
    if not close:
        by_name = {path.rsplit(".", 1)[-1]: path for path in candidates}
        names = difflib.get_close_matches(wrong.rsplit(".", 1)[-1], list(by_name), n=1)
        close = [by_name[names[0]]] if names else []
    return f"use {close[0]}" if close else f"use an import path such as {EXAMPLES[kind]}"


def estimator_class(path: str, kind: str) -> type[BaseEstimator]:
    """The estimator class at ``path``, found without running code from outside the allowed
    places (see ``tabular.imports``)."""
    from sklearn.base import BaseEstimator

    try:
        cls = resolve(path, "Trainer.estimator", PROJECT_SRC)
    except ValueError as error:
        raise EstimatorConfigError(f"{error} ({did_you_mean(path, kind)})") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise EstimatorConfigError(f"Trainer.estimator {path} is not a scikit-learn estimator "
                                   f"class: use a {kind} such as {EXAMPLES[kind]}")
    return cls


def _one_line(message: str) -> str:
    return " ".join(message.split())


def make_estimator(path: str, params: Mapping[str, Any], seed: int, problem: Problem
                   ) -> BaseEstimator:
    """Unfitted ``path(**params)`` with ``random_state=seed`` when it takes one.

    The estimator must suit ``problem`` (a classifier for binary/multiclass, a regressor for
    regression) and its parameters pass scikit-learn's own validation; otherwise
    ``EstimatorConfigError``. An explicit ``random_state`` in ``params`` wins over ``seed``.
    """
    from sklearn.base import is_classifier, is_regressor

    kind = kind_for(problem)
    cls = estimator_class(path, kind)
    try:
        estimator = cls()
    except TypeError as error:
        raise EstimatorConfigError(f"{path} cannot be built without arguments "
                                   f"({_one_line(str(error))}): use e.g. {EXAMPLES[kind]}"
                                   ) from None
    fits = is_regressor(estimator) if kind == "regressor" else is_classifier(estimator)
    if not fits:
        raise EstimatorConfigError(f"{path} (Trainer.estimator) is not a {kind}, and the "
                                   f"problem is {problem}: "
                                   f"{did_you_mean(path, kind)}")
    valid = sorted(estimator.get_params(deep=True))
    for name in params:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(valid)}"
            raise EstimatorConfigError(f"{path} has no parameter {name!r} ({hint}): rename or "
                                       "remove it in Trainer.estimator_params")
    seeded = ("random_state" in estimator.get_params(deep=False)
              and "random_state" not in params)
    # The params first, then the seed: an error names the setting that caused it.
    for setting, values in [("Trainer.estimator_params", params),
                            ("Trainer.seed (the estimator's random_state)",
                             {"random_state": seed} if seeded else {})]:
        try:
            estimator.set_params(**values)
            validate = getattr(estimator, "_validate_params", None)
            if validate is not None:  # sklearn's own check, absent on third-party models
                validate()
        except (ValueError, TypeError) as error:
            raise EstimatorConfigError(f"invalid {setting} for {path}: "
                                       f"{_one_line(str(error))}") from None
    return estimator


def feature_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """X (every other raw column: the model's first step picks its features) and y."""
    return frame.drop(columns=[target]), frame[target]
