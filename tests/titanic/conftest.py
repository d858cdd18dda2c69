"""Shared fixtures for the Titanic logic tests: the real Kaggle data and the default config.

The data is never copied into the repo; ``titanic_dir`` (tests/conftest.py) finds it in
TITANIC_DATA_DIR or in the project's input/ folder, and skips the tests when it is in neither.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from titanic.data import read_raw
from titanic.features import FeatureSpec
from titanic.model import feature_target, make_estimator, make_model

DATA_DIR_VARIABLE = "TITANIC_DATA_DIR"

# The default experiment the example ships with (about 0.84 CV accuracy, ~0.15 s per fit).
DEFAULT_COLUMNS = ("Pclass", "Sex", "Age", "Fare", "Embarked", "SibSp", "Parch")
DEFAULT_ESTIMATOR = "sklearn.ensemble.GradientBoostingClassifier"
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.8,
}
SEED = 0


@pytest.fixture(scope="session")
def train_frame(titanic_dir: Path) -> pd.DataFrame:
    return read_raw(titanic_dir, "train.csv")


@pytest.fixture(scope="session")
def test_frame(titanic_dir: Path) -> pd.DataFrame:
    return read_raw(titanic_dir, "test.csv")


@pytest.fixture(scope="session")
def default_spec() -> FeatureSpec:
    return FeatureSpec(columns=DEFAULT_COLUMNS, title=True, family_size=True)


@pytest.fixture(scope="session")
def new_default_model(default_spec: FeatureSpec) -> Callable[[], Pipeline]:
    """Builds a fresh, unfitted model of the default experiment on each call."""

    def build() -> Pipeline:
        return make_model(default_spec, make_estimator(DEFAULT_ESTIMATOR, DEFAULT_PARAMS, SEED))

    return build


@pytest.fixture(scope="session")
def fitted_default_model(
    new_default_model: Callable[[], Pipeline], train_frame: pd.DataFrame
) -> Pipeline:
    """The default model fitted once on all of train.csv, shared by read-only tests."""
    return new_default_model().fit(*feature_target(train_frame))
