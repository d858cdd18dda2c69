"""The Titanic example's default experiment, built from the generic functions the tasks use.

The data comes from ``titanic_dir`` (tests/conftest.py): ``TITANIC_DATA_DIR`` or the repo's
``input/``. Everything fitted is session-scoped: the default model is fitted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from tabular.contract import DataContract
from tabular.dataset import DatasetConfig, read_table, resolve_contract
from tabular.derived import DerivedFeature, load_derived
from tabular.estimators import feature_target, make_estimator
from tabular.features import FeatureSpec, build_features

# The default experiment the shipped luigi.toml describes.
DEFAULT_COLUMNS = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")
DEFAULT_DERIVED = ("titanic.features.title", "titanic.features.family_size")
DEFAULT_ESTIMATOR = "sklearn.ensemble.GradientBoostingClassifier"
DEFAULT_PARAMS: dict[str, Any] = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05,
                                  "subsample": 0.8}
SEED = 0


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Small fits are far faster on one BLAS thread than on threads fighting for two cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def default_dataset(titanic_dir: Path) -> DatasetConfig:
    return DatasetConfig(titanic_dir, target="Survived", id_column="PassengerId",
                         problem="binary", train_columns=DEFAULT_COLUMNS)


@pytest.fixture(scope="session")
def default_derived() -> tuple[DerivedFeature, ...]:
    return load_derived(DEFAULT_DERIVED)


@pytest.fixture(scope="session")
def default_contract(default_dataset: DatasetConfig,
                     default_derived: tuple[DerivedFeature, ...]) -> DataContract:
    return resolve_contract(default_dataset, [n for f in default_derived for n in f.needs])


@pytest.fixture(scope="session")
def default_spec(default_contract: DataContract,
                 default_derived: tuple[DerivedFeature, ...]) -> FeatureSpec:
    return FeatureSpec(columns=default_contract.features, derived=default_derived)


@pytest.fixture(scope="session")
def raw_tables(default_dataset: DatasetConfig, default_contract: DataContract,
               default_spec: FeatureSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The kept raw columns of train and test, as the Preprocessor reads them."""
    needed = [default_contract.id_column, *default_spec.required_raw_columns()]
    train = read_table(default_dataset.source("train"), [*needed, default_contract.target])
    return train, read_table(default_dataset.source("test"), needed)


@pytest.fixture(scope="session")
def new_default_model(default_spec: FeatureSpec) -> Callable[[], Pipeline]:
    """A fresh, unfitted model of the default experiment on each call (as the Trainer builds
    it: the feature pipeline, then the estimator)."""

    def build() -> Pipeline:
        estimator = make_estimator(DEFAULT_ESTIMATOR, DEFAULT_PARAMS, SEED, "binary")
        return Pipeline([("features", build_features(default_spec)), ("estimator", estimator)])

    return build


@pytest.fixture(scope="session")
def fitted_default_model(new_default_model: Callable[[], Pipeline],
                         raw_tables: tuple[pd.DataFrame, pd.DataFrame]) -> Pipeline:
    """The default model fitted once on all of train.csv, shared by read-only tests."""
    return new_default_model().fit(*feature_target(raw_tables[0], "Survived"))
