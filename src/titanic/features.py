"""Feature specification, stateless feature engineering and the (unfitted) feature pipeline.

``FeatureSpec`` is what a config describes; ``build_features`` turns it into a scikit-learn
pipeline. Learned state (imputation values, category levels, scaling) lives only in the
fitted pipeline, so fitting it on train.csv and applying it to test.csv cannot leak.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from titanic.data import ID_COLUMN, TARGET_COLUMN, check_columns

# scikit-learn is imported where a pipeline is built, not here: reading a FeatureSpec (the
# runner does for every task it plans) must not cost sklearn's 0.6 s import.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

NUMERIC_IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")
CATEGORICAL_IMPUTE_STRATEGIES = ("most_frequent", "constant")
# The level a "constant" categorical imputation creates; it becomes its own one-hot column.
MISSING_CATEGORY = "missing"

TITLE = "Title"
FAMILY_SIZE = "FamilySize"
IS_ALONE = "IsAlone"
NOT_FEATURES = frozenset({ID_COLUMN, TARGET_COLUMN})

# Titles frequent enough to learn from; French and abbreviated forms map onto them and the
# few remaining honorifics (Dr, Rev, Col, Countess...) share one "Rare" level.
COMMON_TITLES = frozenset({"Mr", "Mrs", "Miss", "Master"})
TITLE_ALIASES = {"Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}
RARE_TITLE = "Rare"
# "Braund, Mr. Owen Harris" -> "Mr"; "Rothes, the Countess. of (...)" -> "the Countess".
TITLE_PATTERN = r",\s*([^.]*?)\s*\."


class FeatureConfigError(ValueError):
    """The feature part of the configuration is inconsistent."""


def _names(value: Iterable[str] | str, option: str) -> tuple[str, ...]:
    """Config lists arrive as lists; a bare string would silently split into characters."""
    if isinstance(value, str):
        raise FeatureConfigError(
            f"{option} must be a list of column names, got the string {value!r}: "
            f"write {option} = [{value!r}]"
        )
    names = tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise FeatureConfigError(f"{option} must contain only column names (strings): fix {option}")
    return names


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class FeatureSpec:
    """Which raw columns become features and how they are engineered and preprocessed.

    ``columns`` are raw columns kept as features (never PassengerId or Survived). ``numeric``
    and ``categorical`` force the kind of named feature columns (raw or engineered); any
    feature not named is typed from its dtype at fit time (numbers are numeric, the rest
    categorical). ``title`` adds Title from Name; ``family_size`` adds FamilySize
    (SibSp + Parch + 1) and IsAlone (FamilySize == 1). Invalid combinations raise
    ``FeatureConfigError`` on construction.
    """

    columns: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    numeric_impute: str = "median"
    categorical_impute: str = "most_frequent"
    scale_numeric: bool = False
    title: bool = False
    family_size: bool = False

    def __post_init__(self) -> None:
        # Configs deliver lists; store tuples so the spec stays hashable and immutable.
        for option in ("columns", "numeric", "categorical"):
            object.__setattr__(self, option, _names(getattr(self, option), option))
        for option in ("scale_numeric", "title", "family_size"):
            if not isinstance(getattr(self, option), bool):
                raise FeatureConfigError(
                    f"{option} must be true or false, got {getattr(self, option)!r}: fix {option}"
                )
        self._check_impute_strategies()
        self._check_columns()
        self._check_kinds()

    def _check_impute_strategies(self) -> None:
        for option, allowed in (
            ("numeric_impute", NUMERIC_IMPUTE_STRATEGIES),
            ("categorical_impute", CATEGORICAL_IMPUTE_STRATEGIES),
        ):
            value = getattr(self, option)
            if value not in allowed:
                raise FeatureConfigError(
                    f"unknown {option} strategy {value!r}: use one of {', '.join(allowed)}"
                )

    def _check_columns(self) -> None:
        if not self.columns and not (self.title or self.family_size):
            raise FeatureConfigError(
                "no feature columns: list raw columns in columns or enable title/family_size"
            )
        not_features = sorted(NOT_FEATURES.intersection(self.columns))
        if not_features:
            raise FeatureConfigError(
                f"columns must not contain {', '.join(not_features)}: "
                "remove identifier/target columns from the feature columns"
            )
        clashes = [name for name in self.columns if name in self.engineered_names()]
        duplicates = sorted({name for name in self.columns if self.columns.count(name) > 1})
        if clashes or duplicates:
            raise FeatureConfigError(
                f"feature column(s) {', '.join(clashes + duplicates)} appear twice "
                "(listed twice or also engineered): list each feature once"
            )

    def _check_kinds(self) -> None:
        features = self.feature_names()
        for option in ("numeric", "categorical"):
            for name in getattr(self, option):
                if name not in features:
                    raise FeatureConfigError(
                        f"{option} names {name!r}, which is not a feature"
                        f"{_suggest(name, features)}: use one of {', '.join(features)}"
                    )
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise FeatureConfigError(
                f"{', '.join(both)} listed as both numeric and categorical: keep each in one list"
            )

    def engineered_names(self) -> tuple[str, ...]:
        """Names of the columns ``engineer`` adds, in output order."""
        return (TITLE,) * self.title + (FAMILY_SIZE, IS_ALONE) * self.family_size

    def feature_names(self) -> tuple[str, ...]:
        """Columns ``engineer`` returns: the kept raw columns then the engineered ones."""
        return self.columns + self.engineered_names()


def required_raw_columns(spec: FeatureSpec) -> set[str]:
    """Raw columns a table must have for ``engineer(table, spec)`` to work."""
    required = set(spec.columns)
    if spec.title:
        required.add("Name")
    if spec.family_size:
        required.update({"SibSp", "Parch"})
    return required


def extract_title(names: pd.Series) -> pd.Series:
    """Honorific from "Last, Title. First" names, folded to Mr/Mrs/Miss/Master/Rare.

    Names without a recognisable title become missing, to be imputed like any other gap.
    """
    raw = names.astype("str").str.extract(TITLE_PATTERN, expand=False)
    folded = raw.replace(TITLE_ALIASES)
    return folded.where(folded.isin(COMMON_TITLES) | folded.isna(), RARE_TITLE).rename(TITLE)


def engineer(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Stateless feature engineering: the kept raw columns plus the engineered ones.

    Extra columns in ``frame`` (PassengerId, Survived, unused raw columns) are ignored, so the
    same fitted model predicts straight from raw test.csv rows. Module-level on purpose: a
    fitted pipeline pickles it by reference.
    """
    check_columns(frame.columns, sorted(required_raw_columns(spec)), where="feature input")
    features = frame.loc[:, list(spec.columns)].copy()
    if spec.title:
        features[TITLE] = extract_title(frame["Name"])
    if spec.family_size:
        family = frame["SibSp"] + frame["Parch"] + 1
        features[FAMILY_SIZE] = family
        # Keep gaps as gaps (float NaN) so the imputer, not this function, decides on them.
        features[IS_ALONE] = (family == 1).astype(float).where(family.notna())
    return features


def _engineered_names_out(transformer: FunctionTransformer, input_features: Any) -> list[str]:
    """``feature_names_out`` hook so the pipeline can report its output names."""
    return list(transformer.kw_args["spec"].feature_names())


def split_kinds(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature columns of an engineered frame.

    Explicit ``spec.numeric``/``spec.categorical`` win; other columns are numeric when their
    dtype is a number (booleans excluded: the imputer rejects them), categorical otherwise.
    """
    numeric, categorical = [], []
    for name in frame.columns:
        dtype = frame[name].dtype
        inferred_numeric = pd.api.types.is_numeric_dtype(dtype) and not (
            pd.api.types.is_bool_dtype(dtype)
        )
        if name in spec.numeric or (name not in spec.categorical and inferred_numeric):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


@dataclass(frozen=True)
class ColumnsOfKind:
    """Picklable column selector for ``ColumnTransformer``: resolved on the fit data."""

    spec: FeatureSpec
    kind: Literal["numeric", "categorical"]

    def __call__(self, frame: pd.DataFrame) -> list[str]:
        numeric, categorical = split_kinds(frame, self.spec)
        return numeric if self.kind == "numeric" else categorical


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast categories to strings (gaps stay missing): numeric codes such as a Pclass forced
    to categorical would otherwise reject the imputer's string fill value."""
    return frame.astype("str")


def _numeric_steps(spec: FeatureSpec) -> Pipeline:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=spec.numeric_impute))]
    if spec.scale_numeric:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def _categorical_steps(spec: FeatureSpec) -> Pipeline:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    return Pipeline(
        [
            ("as_text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
            (
                "impute",
                SimpleImputer(strategy=spec.categorical_impute, fill_value=MISSING_CATEGORY),
            ),
            ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )


def build_features(spec: FeatureSpec) -> Pipeline:
    """Unfitted pipeline: ``engineer`` then impute (+ scale) numeric and impute + one-hot
    categorical features, returning a DataFrame with readable names (``Age``,
    ``Sex_female``, ``Title_Mr``...). Categories unseen during fit encode as all zeros.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    encode = ColumnTransformer(
        [
            ("numeric", _numeric_steps(spec), ColumnsOfKind(spec, "numeric")),
            ("categorical", _categorical_steps(spec), ColumnsOfKind(spec, "categorical")),
        ],
        verbose_feature_names_out=False,
    )
    engineer_step = FunctionTransformer(
        engineer, kw_args={"spec": spec}, feature_names_out=_engineered_names_out
    )
    return Pipeline([("engineer", engineer_step), ("encode", encode)]).set_output(
        transform="pandas"
    )


SPEC_OPTIONS = frozenset(f.name for f in dataclasses.fields(FeatureSpec)) - {"columns"}


def spec_from_columns(
    train_columns: Sequence[str], test_columns: Sequence[str], **options: Any
) -> FeatureSpec:
    """``FeatureSpec`` from the seed config's ``train_columns``/``test_columns`` lists.

    PassengerId and Survived are dropped; the remaining feature columns of both lists must
    agree (as sets; train order is kept). ``options`` are the other ``FeatureSpec`` fields.
    """
    train_columns = _names(train_columns, "train_columns")
    test_columns = _names(test_columns, "test_columns")
    unknown = sorted(set(options) - SPEC_OPTIONS)
    if unknown:
        raise FeatureConfigError(
            f"unknown feature option {unknown[0]!r}{_suggest(unknown[0], SPEC_OPTIONS)}: "
            f"use {', '.join(sorted(SPEC_OPTIONS))}"
        )
    if TARGET_COLUMN in test_columns:
        raise FeatureConfigError(
            f"test_columns lists {TARGET_COLUMN}, which test.csv does not have: "
            f"remove {TARGET_COLUMN!r} from test_columns"
        )
    train_features = [name for name in train_columns if name not in NOT_FEATURES]
    test_features = [name for name in test_columns if name not in NOT_FEATURES]
    only_train = [name for name in train_features if name not in test_features]
    only_test = [name for name in test_features if name not in train_features]
    if only_train or only_test:
        raise FeatureConfigError(
            "train_columns and test_columns disagree on feature columns "
            f"(only in train_columns: {', '.join(only_train) or '-'}; "
            f"only in test_columns: {', '.join(only_test) or '-'}): list the same features in both"
        )
    return FeatureSpec(columns=tuple(train_features), **options)
