"""Shared data for the tabular package's unit tests: sklearn's bundled datasets as raw frames.

Loaded once per session; tests that change a frame copy it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    """150 rows, 4 numeric features, a 3-class text target (``setosa``, ...)."""
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    names = np.asarray(data.target_names)[data.target.to_numpy()]
    return data.data, pd.Series(names, name="species")


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    """569 rows of breast_cancer, cut to 6 features to keep fits fast; 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data.iloc[:, :6], data.target.rename("malignant")


@pytest.fixture(scope="session")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    """442 rows, 10 numeric features, a float target."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    return data.data, data.target.rename("progression")


@pytest.fixture(scope="session")
def titanic_train(titanic_dir: Path) -> pd.DataFrame:
    return pd.read_csv(titanic_dir / "train.csv")


@pytest.fixture(scope="session")
def titanic_test(titanic_dir: Path) -> pd.DataFrame:
    return pd.read_csv(titanic_dir / "test.csv")


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Small fits run many times faster on one BLAS thread than on threads fighting for two
    busy cores (lbfgs: 0.2 s against 0.01 s); scoped per module to leave other tests alone."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
