"""Titanic features: the passenger's title from ``Name``, and the family travelling along.

Each is a plain function marked with ``@derived_feature`` (the columns it reads and makes), so
a config can name it: ``derived_features = ["titanic.features.title"]``.
"""

from __future__ import annotations

import pandas as pd

from tabular.derived import derived_feature

# Titles frequent enough to learn from; French and abbreviated forms map onto them and the
# few remaining honorifics (Dr, Rev, Col, Countess...) share one "Rare" level.
COMMON_TITLES = frozenset({"Mr", "Mrs", "Miss", "Master"})
TITLE_ALIASES = {"Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}
RARE_TITLE = "Rare"
# "Braund, Mr. Owen Harris" -> "Mr"; "Rothes, the Countess. of (...)" -> "the Countess".
TITLE_PATTERN = r",\s*([^.]*?)\s*\."


def extract_title(names: pd.Series) -> pd.Series:
    """Honorific from "Last, Title. First" names, folded to Mr/Mrs/Miss/Master/Rare.

    Names without a recognisable title become missing, to be imputed like any other gap.
    """
    raw = names.astype("str").str.extract(TITLE_PATTERN, expand=False)
    folded = raw.replace(TITLE_ALIASES)
    return folded.where(folded.isin(COMMON_TITLES) | folded.isna(), RARE_TITLE).rename("Title")


@derived_feature(needs=("Name",), makes=("Title",))
def title(frame: pd.DataFrame) -> pd.DataFrame:
    """Title: Mr, Mrs, Miss, Master or Rare."""
    return extract_title(frame["Name"]).to_frame()


@derived_feature(needs=("SibSp", "Parch"), makes=("FamilySize", "IsAlone"))
def family_size(frame: pd.DataFrame) -> pd.DataFrame:
    """FamilySize = SibSp + Parch + 1, and IsAlone (FamilySize == 1)."""
    family = frame["SibSp"] + frame["Parch"] + 1
    # Keep gaps as gaps (float NaN) so the imputer, not this function, decides on them.
    alone = (family == 1).astype(float).where(family.notna())
    return pd.DataFrame({"FamilySize": family, "IsAlone": alone}, index=frame.index)
