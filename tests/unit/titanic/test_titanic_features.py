"""The Titanic example's derived features: the title from Name, and the family size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular.derived import DerivedFeature
from titanic.features import (
    COMMON_TITLES,
    RARE_TITLE,
    TITLE_ALIASES,
    extract_title,
    family_size,
    title,
)

NAMES_AND_TITLES = [
    ("Braund, Mr. Owen Harris", "Mr"),
    ("Cumings, Mrs. John Bradley (Florence Briggs Thayer)", "Mrs"),
    ("Heikkinen, Miss. Laina", "Miss"),
    ("Palsson, Master. Gosta Leonard", "Master"),
    ("Aubart, Mme. Leontine Pauline", "Mrs"),
    ("Sagesser, Mlle. Emma", "Miss"),
    ("O'Donoghue, Ms. Bridget", "Miss"),
    ("Rothes, the Countess. of (Lucy Noel Martha Dyer-Edwards)", "Rare"),
    ("Uruchurtu, Don. Manuel E", "Rare"),
    ("Minahan, Dr. William Edward", "Rare"),
    ("Oliva y Ocana, Dona. Fermina", "Rare"),
    ("no title here", None),
    (None, None),
]


def test_extract_title_folds_aliases_and_rare_titles() -> None:
    names = pd.Series([name for name, _ in NAMES_AND_TITLES])
    titles = extract_title(names)
    assert titles.name == "Title"
    assert [None if pd.isna(t) else t for t in titles] == [t for _, t in NAMES_AND_TITLES]
    assert set(TITLE_ALIASES.values()) <= COMMON_TITLES


def test_titles_on_the_real_data(titanic_dir: Path) -> None:
    allowed = {*COMMON_TITLES, RARE_TITLE}
    for name in ("train.csv", "test.csv"):
        titles = extract_title(pd.read_csv(titanic_dir / name, usecols=["Name"])["Name"])
        assert titles.notna().all(), "every Kaggle name has a title"
        assert set(titles) == allowed
        if name == "train.csv":
            assert titles.value_counts().to_dict() == {"Mr": 517, "Miss": 185, "Mrs": 126,
                                                       "Master": 40, "Rare": 23}


def test_title_is_a_declared_derived_feature() -> None:
    assert isinstance(title, DerivedFeature)
    assert (title.needs, title.makes, title.path) == (("Name",), ("Title",),
                                                      "titanic.features.title")
    frame = pd.DataFrame({"Name": ["Ann, Mlle. B", "X, Mr. Y"], "Other": [1, 2]}, index=[5, 9])
    made = title(frame)
    assert list(made.columns) == ["Title"]
    assert made["Title"].to_dict() == {5: "Miss", 9: "Mr"}, "rows keep their index"


def test_family_size_and_is_alone() -> None:
    assert (family_size.needs, family_size.makes) == (("SibSp", "Parch"),
                                                      ("FamilySize", "IsAlone"))
    frame = pd.DataFrame({"SibSp": [1, 0, 0, np.nan, 3], "Parch": [2, 0, np.nan, 0, 0]},
                         index=[10, 11, 12, 13, 14])
    made = family_size(frame)
    assert list(made.columns) == ["FamilySize", "IsAlone"]
    assert made.index.tolist() == [10, 11, 12, 13, 14]
    assert made["FamilySize"].tolist()[:2] == [4, 1]
    assert made["FamilySize"].tolist()[4] == 4
    assert made["IsAlone"].tolist()[:2] == [0.0, 1.0]
    assert made["IsAlone"].tolist()[4] == 0.0
    assert made.loc[[12, 13]].isna().all().all(), "a gap in either input stays a gap"


def test_family_size_on_integer_columns_without_gaps() -> None:
    made = family_size(pd.DataFrame({"SibSp": [0, 1], "Parch": [0, 1]}))
    assert made["FamilySize"].tolist() == [1, 3]
    assert made["IsAlone"].tolist() == [1.0, 0.0]
    assert made["IsAlone"].dtype == float


@pytest.mark.parametrize("feature", [title, family_size])
def test_features_refuse_frames_without_their_inputs(feature: DerivedFeature) -> None:
    with pytest.raises(KeyError):
        feature(pd.DataFrame({"Age": [1.0]}))
