"""FeatureSpec validation, stateless engineering and the fitted feature pipeline."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from titanic.data import MissingColumnsError
from titanic.features import (
    FeatureConfigError,
    FeatureSpec,
    build_features,
    engineer,
    extract_title,
    required_raw_columns,
    spec_from_columns,
)

SEED_TRAIN_COLUMNS = ["PassengerId", "Survived", "Pclass", "SibSp", "Parch"]
SEED_TEST_COLUMNS = ["PassengerId", "Pclass", "SibSp", "Parch"]


def tiny_frame() -> pd.DataFrame:
    """Three raw-looking rows, with extra columns engineer must ignore."""
    return pd.DataFrame(
        {
            "PassengerId": [1, 2, 3],
            "Survived": [0, 1, 1],
            "Name": ["Braund, Mr. Owen Harris", "Rothes, the Countess. of (Lucy)", "Ann, Mlle. B"],
            "Sex": ["male", "female", "female"],
            "SibSp": [1, 0, 0],
            "Parch": [2, 0, np.nan],
            "Ticket": ["A/5", "110152", "PC 1"],
        }
    )


def test_spec_coerces_config_lists_to_tuples() -> None:
    spec = FeatureSpec(columns=["Sex", "Age"], categorical=["Sex"])  # type: ignore[arg-type]
    assert spec.columns == ("Sex", "Age")
    assert spec.categorical == ("Sex",)
    hash(spec)  # frozen and made of tuples: usable as a cache key


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"numeric_impute": "medain"}, "unknown numeric_impute strategy 'medain'"),
        ({"categorical_impute": "median"}, "unknown categorical_impute strategy 'median'"),
        ({"columns": ("Survived", "Sex")}, "columns must not contain Survived"),
        ({"columns": ("PassengerId",)}, "columns must not contain PassengerId"),
        ({"columns": "Sex"}, "got the string 'Sex'"),
        ({"columns": ()}, "no feature columns"),
        ({"columns": ("Sex", "Sex")}, "Sex appear twice"),
        ({"columns": ("Title",), "title": True}, "Title appear twice"),
        ({"numeric": ("Agee",)}, "(did you mean 'Age'?)"),
        ({"numeric": ("FamilySize",)}, "'FamilySize', which is not a feature"),
        ({"numeric": ("Age",), "categorical": ("Age",)}, "Age listed as both"),
        ({"title": "yes"}, "title must be true or false"),
    ],
)
def test_spec_rejects_bad_config_with_one_line(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FeatureConfigError) as error:
        FeatureSpec(**{"columns": ("Sex", "Age"), **options})
    assert isinstance(error.value, ValueError)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)
    assert ": " in str(error.value), "message should end with the fix"


def test_spec_accepts_engineered_names_in_kind_lists() -> None:
    spec = FeatureSpec(columns=("Sex",), family_size=True, categorical=("FamilySize",))
    assert spec.feature_names() == ("Sex", "FamilySize", "IsAlone")


def test_required_raw_columns_include_engineering_inputs() -> None:
    assert required_raw_columns(FeatureSpec(columns=("Sex",))) == {"Sex"}
    spec = FeatureSpec(columns=("Sex", "SibSp"), title=True, family_size=True)
    assert required_raw_columns(spec) == {"Sex", "SibSp", "Parch", "Name"}


def test_extract_title_folds_variants_and_rare_titles() -> None:
    names = pd.Series(
        [
            "Braund, Mr. Owen Harris",
            "Cumings, Mrs. John Bradley (Florence Briggs Thayer)",
            "Heikkinen, Miss. Laina",
            "Palsson, Master. Gosta Leonard",
            "Aubart, Mme. Leontine Pauline",
            "Sagesser, Mlle. Emma",
            "O'Donoghue, Ms. Bridget",
            "Rothes, the Countess. of (Lucy Noel Martha Dyer-Edwards)",
            "Uruchurtu, Don. Manuel E",
            "no title here",
            None,
        ]
    )
    expected = ["Mr", "Mrs", "Miss", "Master", "Mrs", "Miss", "Miss", "Rare", "Rare", None, None]
    titles = extract_title(names)
    assert titles.name == "Title"
    assert [None if pd.isna(t) else t for t in titles] == expected


def test_engineer_keeps_only_requested_and_engineered_columns() -> None:
    frame = tiny_frame()
    original = frame.copy()
    spec = FeatureSpec(columns=("Sex",), title=True, family_size=True)
    features = engineer(frame, spec)
    assert list(features.columns) == ["Sex", "Title", "FamilySize", "IsAlone"]
    assert features["Title"].tolist() == ["Mr", "Rare", "Miss"]
    assert features["FamilySize"].tolist()[:2] == [4, 1]
    assert features["IsAlone"].tolist()[:2] == [0, 1]
    assert features[["FamilySize", "IsAlone"]].iloc[2].isna().all(), "gaps stay missing"
    pd.testing.assert_frame_equal(frame, original)


def test_engineer_reports_missing_raw_columns() -> None:
    spec = FeatureSpec(columns=("Sex", "Age"), family_size=True)
    with pytest.raises(MissingColumnsError, match="feature input has no column"):
        engineer(tiny_frame(), spec)


def test_build_features_returns_an_unfitted_pipeline() -> None:
    with pytest.raises(NotFittedError):
        check_is_fitted(build_features(FeatureSpec(columns=("Sex",))))


def test_features_fitted_on_train_apply_to_test(
    train_frame: pd.DataFrame, test_frame: pd.DataFrame, default_spec: FeatureSpec
) -> None:
    features = build_features(default_spec).fit(train_frame)
    train_matrix = features.transform(train_frame)
    test_matrix = features.transform(test_frame)  # raw test rows: no Survived, extra columns
    assert list(test_matrix.columns) == list(train_matrix.columns)
    assert list(features.get_feature_names_out()) == list(train_matrix.columns)
    assert test_matrix.shape[0] == 418
    assert not train_matrix.isna().any().any()
    assert not test_matrix.isna().any().any(), "Age/Fare gaps in test are imputed"
    for readable in ("Age", "Fare", "FamilySize", "IsAlone", "Sex_female", "Title_Mr"):
        assert readable in train_matrix.columns
    assert "PassengerId" not in train_matrix.columns


def test_imputation_learns_from_train_only(train_frame: pd.DataFrame) -> None:
    spec = FeatureSpec(columns=("Age",))
    features = build_features(spec).fit(train_frame)
    no_age = pd.DataFrame({"Age": [np.nan]})
    assert features.transform(no_age)["Age"].iloc[0] == train_frame["Age"].median()


def test_unseen_category_encodes_as_zeros(train_frame: pd.DataFrame) -> None:
    features = build_features(FeatureSpec(columns=("Embarked",))).fit(train_frame)
    encoded = features.transform(pd.DataFrame({"Embarked": ["X"]}))
    assert encoded.to_numpy().sum() == 0


def test_kind_overrides_scaling_and_constant_impute(train_frame: pd.DataFrame) -> None:
    spec = FeatureSpec(
        columns=("Pclass", "Fare", "Embarked"),
        categorical=("Pclass",),
        scale_numeric=True,
        categorical_impute="constant",
    )
    matrix = build_features(spec).fit_transform(train_frame)
    assert {"Pclass_1", "Pclass_2", "Pclass_3", "Embarked_missing"} <= set(matrix.columns)
    assert abs(matrix["Fare"].mean()) < 1e-9
    assert matrix["Fare"].std(ddof=0) == pytest.approx(1.0)


def test_fitted_features_survive_pickling(
    train_frame: pd.DataFrame, test_frame: pd.DataFrame, default_spec: FeatureSpec
) -> None:
    features = build_features(default_spec).fit(train_frame)
    restored = pickle.loads(pickle.dumps(features))
    pd.testing.assert_frame_equal(restored.transform(test_frame), features.transform(test_frame))


def test_spec_from_seed_columns_drops_id_and_target() -> None:
    spec = spec_from_columns(SEED_TRAIN_COLUMNS, SEED_TEST_COLUMNS)
    assert spec == FeatureSpec(columns=("Pclass", "SibSp", "Parch"))
    with_options = spec_from_columns(SEED_TRAIN_COLUMNS, SEED_TEST_COLUMNS, family_size=True)
    assert with_options.family_size


@pytest.mark.parametrize(
    ("train_columns", "test_columns", "options", "fragment"),
    [
        (SEED_TRAIN_COLUMNS, ["PassengerId", "Pclass"], {}, "only in train_columns: SibSp, Parch"),
        (SEED_TRAIN_COLUMNS, [*SEED_TEST_COLUMNS, "Age"], {}, "only in test_columns: Age"),
        (SEED_TRAIN_COLUMNS, [*SEED_TEST_COLUMNS, "Survived"], {}, "remove 'Survived'"),
        (SEED_TRAIN_COLUMNS, SEED_TEST_COLUMNS, {"familysize": True}, "'family_size'"),
    ],
)
def test_spec_from_columns_rejects_inconsistent_config(
    train_columns: list[str], test_columns: list[str], options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(FeatureConfigError) as error:
        spec_from_columns(train_columns, test_columns, **options)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)
