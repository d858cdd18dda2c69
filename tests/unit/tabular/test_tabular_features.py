"""FeatureSpec validation, engineering with derived features, and the fitted feature pipeline:
readable names, imputation and encoding learned from train only, pickled by reference."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from tabular.derived import DerivedFeature, derived_feature
from tabular.features import (
    CATEGORICAL_IMPUTE_STRATEGIES,
    NUMERIC_IMPUTE_STRATEGIES,
    FeatureConfigError,
    FeatureSpec,
    build_features,
    check_numeric,
    engineer,
    split_kinds,
)
from titanic.features import family_size, title

TITANIC_COLUMNS = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")


@derived_feature(needs=("a",), makes=("a_squared",))
def squared(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"a_squared": frame["a"] ** 2}, index=frame.index)


@derived_feature(needs=("a",), makes=("declared",))
def misdeclared(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["a"]]


def tiny() -> pd.DataFrame:
    return pd.DataFrame({"id": [7, 8, 9], "a": [1.0, np.nan, 3.0], "c": ["x", None, "y"],
                         "flag": [True, False, True], "y": [0, 1, 0]})


@pytest.fixture(scope="module")
def titanic_train(titanic_dir: Path) -> pd.DataFrame:
    return pd.read_csv(titanic_dir / "train.csv")


@pytest.fixture(scope="module")
def titanic_test(titanic_dir: Path) -> pd.DataFrame:
    return pd.read_csv(titanic_dir / "test.csv")


@pytest.fixture(scope="module")
def titanic_spec() -> FeatureSpec:
    return FeatureSpec(columns=TITANIC_COLUMNS, derived=(title, family_size))


@pytest.fixture(scope="module")
def titanic_features(titanic_spec: FeatureSpec, titanic_train: pd.DataFrame) -> Pipeline:
    return build_features(titanic_spec).fit(titanic_train)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"columns": ()}, "no feature columns: keep some raw columns or add derived_features"),
        ({"columns": ("a", "a")}, "feature column(s) a appear twice"),
        ({"columns": ("a_squared",), "derived": (squared,)}, "a_squared appear twice (kept and "
                                                            "also derived?)"),
        ({"numeric": ("b",)}, "numeric_columns names b, which is not a feature; features are: "
                              "a, c"),
        ({"categorical": ("zz",)}, "categorical_columns names zz"),
        ({"numeric": ("a",), "categorical": ("a",)}, "a listed as both numeric and categorical"),
    ],
)
def test_spec_rejects_bad_config_with_one_line(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FeatureConfigError) as error:
        FeatureSpec(**{"columns": ("a", "c"), **options})
    assert isinstance(error.value, ValueError)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_spec_names_and_raw_needs() -> None:
    spec = FeatureSpec(columns=("c", "a"), derived=(squared,), numeric=("a_squared",))
    assert spec.feature_names() == ("c", "a", "a_squared")
    assert spec.required_raw_columns() == ("c", "a"), "each raw column once"
    only_derived = FeatureSpec(columns=(), derived=(title, family_size))
    assert only_derived.feature_names() == ("Title", "FamilySize", "IsAlone")
    assert only_derived.required_raw_columns() == ("Name", "SibSp", "Parch")
    hash(spec)  # frozen: usable as a cache key


def test_engineer_keeps_requested_and_derived_columns_only() -> None:
    frame = tiny()
    original = frame.copy()
    engineered = engineer(frame, FeatureSpec(columns=("c",), derived=(squared,)))
    assert list(engineered.columns) == ["c", "a_squared"]
    assert engineered["a_squared"].tolist()[::2] == [1.0, 9.0]
    pd.testing.assert_frame_equal(frame, original)


def test_engineer_reports_missing_raw_columns() -> None:
    spec = FeatureSpec(columns=("c", "b"), derived=(family_size,))
    with pytest.raises(ValueError, match=r"^input rows lack column\(s\) b, SibSp, Parch$"):
        engineer(tiny(), spec)


def test_a_derived_feature_must_make_what_it_declares() -> None:
    assert isinstance(misdeclared, DerivedFeature)
    with pytest.raises(ValueError, match=r"misdeclared made columns \['a'\], not the declared"):
        engineer(tiny(), FeatureSpec(columns=("c",), derived=(misdeclared,)))


def test_split_kinds_by_dtype_unless_forced() -> None:
    spec = FeatureSpec(columns=("a", "c", "flag", "id"), categorical=("id",))
    assert split_kinds(tiny()[["a", "c", "flag", "id"]], spec) == (["a"], ["c", "flag", "id"])


def test_build_features_returns_an_unfitted_pipeline() -> None:
    with pytest.raises(NotFittedError):
        check_is_fitted(build_features(FeatureSpec(columns=("a",))))


def test_titanic_features_fitted_on_train_apply_to_test(
    titanic_features: Pipeline, titanic_train: pd.DataFrame, titanic_test: pd.DataFrame
) -> None:
    train_matrix = titanic_features.transform(titanic_train)
    test_matrix = titanic_features.transform(titanic_test)  # raw rows: no Survived
    assert list(test_matrix.columns) == list(train_matrix.columns)
    assert list(titanic_features.get_feature_names_out()) == list(train_matrix.columns)
    assert test_matrix.shape[0] == 418
    assert not train_matrix.isna().any().any()
    assert not test_matrix.isna().any().any(), "Age/Fare gaps in test are imputed"
    expected = {"Pclass", "Age", "Fare", "FamilySize", "IsAlone", "Sex_female", "Sex_male",
                "Embarked_C", "Embarked_Q", "Embarked_S", "Title_Master", "Title_Miss",
                "Title_Mr", "Title_Mrs", "Title_Rare"}
    assert set(train_matrix.columns) == expected | {"SibSp", "Parch"}
    assert "PassengerId" not in train_matrix.columns


def test_no_leakage_state_is_learned_from_train_only(
    titanic_features: Pipeline, titanic_train: pd.DataFrame, titanic_test: pd.DataFrame
) -> None:
    assert titanic_train["Age"].median() != titanic_test["Age"].median()
    gap = titanic_test.head(1).assign(Age=np.nan, Embarked="X", Sex="unknown")
    row = titanic_features.transform(gap).iloc[0]
    assert row["Age"] == titanic_train["Age"].median()
    assert row.filter(like="Embarked_").sum() == 0, "an unseen category encodes as zeros"
    assert row.filter(like="Sex_").sum() == 0
    refitted = build_features(FeatureSpec(columns=("Age",))).fit(titanic_test)
    assert refitted.transform(gap)["Age"].iloc[0] == titanic_test["Age"].median()


def test_kind_overrides_scaling_and_constant_impute(titanic_train: pd.DataFrame) -> None:
    spec = FeatureSpec(columns=("Pclass", "Fare", "Embarked"), categorical=("Pclass",),
                       scale_numeric=True, categorical_impute="constant")
    matrix = build_features(spec).fit_transform(titanic_train)
    assert {"Pclass_1", "Pclass_2", "Pclass_3", "Embarked_missing"} <= set(matrix.columns)
    assert matrix["Embarked_missing"].sum() == titanic_train["Embarked"].isna().sum() == 2
    assert abs(matrix["Fare"].mean()) < 1e-9
    assert matrix["Fare"].std(ddof=0) == pytest.approx(1.0)


def test_booleans_and_forced_categorical_numbers_one_hot_with_gaps() -> None:
    spec = FeatureSpec(columns=("a", "flag"), categorical=("a",), categorical_impute="constant")
    matrix = build_features(spec).fit_transform(tiny())
    assert list(matrix.columns) == ["a_1.0", "a_3.0", "a_missing", "flag_False", "flag_True"]
    assert matrix["a_missing"].tolist() == [0.0, 1.0, 0.0], "a gap is missing, not 'nan'"


@pytest.mark.parametrize("strategy", NUMERIC_IMPUTE_STRATEGIES)
def test_every_numeric_impute_choice_fits(strategy: str) -> None:
    spec = FeatureSpec(columns=("a",), numeric_impute=strategy)
    assert not build_features(spec).fit_transform(tiny()).isna().any().any()


@pytest.mark.parametrize("strategy", CATEGORICAL_IMPUTE_STRATEGIES)
def test_every_categorical_impute_choice_fits(strategy: str) -> None:
    spec = FeatureSpec(columns=("c",), categorical_impute=strategy)
    matrix = build_features(spec).fit_transform(tiny())
    assert (matrix.sum(axis=1) == 1).all(), "every row, the gap included, has one level"


def test_derived_features_pickle_by_reference(
    titanic_features: Pipeline, titanic_test: pd.DataFrame
) -> None:
    import cloudpickle

    for dump in (pickle.dumps, cloudpickle.dumps):
        assert pickle.loads(dump(title)) is title
        assert pickle.loads(dump(squared)) is squared
    data = pickle.dumps(titanic_features)
    assert b"titanic.features.title" in data and b"titanic.features.family_size" in data
    assert b"extract_title" not in data, "the feature's code is referred to, not copied"
    restored = pickle.loads(data)
    pd.testing.assert_frame_equal(restored.transform(titanic_test),
                                  titanic_features.transform(titanic_test))


def test_check_numeric() -> None:
    check_numeric(pd.DataFrame({"x": ["1", "2.5", None]}), ("x", "not_in_frame"))
    with pytest.raises(FeatureConfigError) as error:
        check_numeric(pd.DataFrame({"x": ["1", "two"]}), ("x",))
    assert str(error.value) == ("numeric_columns lists 'x', but it holds text such as 'two'; "
                                "remove it from numeric_columns")
