"""Feature specification and the (unfitted) scikit-learn feature pipeline.

``FeatureSpec`` is what a config describes; ``build_features`` turns it into a pipeline:
derived features and date features, then imputation (+ optional scaling) of numeric and
imputation + one-hot encoding (of at most ``max_categories`` levels) of categorical columns.
Learned state lives only in the fitted pipeline, so fitting it on the train table and applying
it to the test table cannot leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from tabular import dates as date_features
from tabular.derived import DerivedFeature

# scikit-learn is imported where a pipeline is built, not here: reading a FeatureSpec (the
# runner does while it plans) must not cost sklearn's import.
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

NUMERIC_IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")
CATEGORICAL_IMPUTE_STRATEGIES = ("most_frequent", "constant")
# The level a "constant" categorical imputation creates; it becomes its own one-hot column.
MISSING_CATEGORY = "missing"
# One-hot columns per categorical feature, the one for rare levels included (0: unbounded).
DEFAULT_MAX_CATEGORIES = 20


class FeatureConfigError(ValueError):
    """The feature part of the configuration is inconsistent."""


@dataclass(frozen=True)
class FeatureSpec:
    """Which raw columns become features and how.

    ``columns`` are raw columns kept as features; ``derived`` add columns computed from raw
    ones. ``dates`` are (column, format) pairs of kept columns holding dates as text: each
    becomes numeric date features (``tabular.dates``). ``numeric``/``categorical`` force the
    kind of named features; any other feature is typed from its dtype at fit time (numbers
    numeric, the rest categorical). A categorical feature one-hot encodes into at most
    ``max_categories`` columns (0: unbounded) and levels seen fewer than ``min_frequency``
    times (0: off) share the column for rare levels.
    """

    columns: tuple[str, ...]
    derived: tuple[DerivedFeature, ...] = ()
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    numeric_impute: str = "median"
    categorical_impute: str = "most_frequent"
    scale_numeric: bool = False
    dates: tuple[tuple[str, str], ...] = ()
    max_categories: int = DEFAULT_MAX_CATEGORIES
    min_frequency: int = 0
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        date_columns = dict(self.dates)
        plain = tuple(name for name in self.columns if name not in date_columns)
        names = (plain + tuple(part for name in date_columns
                               for part in date_features.part_names(name))
                 + tuple(name for feature in self.derived for name in feature.makes))
        object.__setattr__(self, "_names", names)
        self._check_encoding()
        if not names:
            raise FeatureConfigError("no feature columns: keep some raw columns or add "
                                     "derived_features")
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise FeatureConfigError(f"feature column(s) {', '.join(twice)} appear twice (kept "
                                     "and also derived?): list each feature once")
        for option in ("numeric", "categorical"):
            unknown = [name for name in getattr(self, option) if name not in names]
            if unknown:
                raise FeatureConfigError(f"{option}_columns names {', '.join(unknown)}, which "
                                         f"is not a feature; features are: {', '.join(names)}")
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise FeatureConfigError(f"{', '.join(both)} listed as both numeric and "
                                     "categorical: keep each in one list")

    def _check_encoding(self) -> None:
        if self.max_categories < 0 or self.max_categories == 1:
            raise FeatureConfigError(f"max_categories = {self.max_categories}: use 0 (no "
                                     "bound) or at least 2")
        if self.min_frequency < 0:
            raise FeatureConfigError(f"min_frequency = {self.min_frequency}: use 0 (off) or a "
                                     "count of rows")
        strange = [name for name, _ in self.dates if name not in self.columns]
        if strange:
            raise FeatureConfigError(f"date column(s) {', '.join(strange)} are not kept columns")

    def feature_names(self) -> tuple[str, ...]:
        """Columns ``engineer`` returns: the kept raw columns (date columns replaced by their
        date features), then the derived ones."""
        return self._names

    def required_raw_columns(self) -> tuple[str, ...]:
        """Raw columns a table must have for ``engineer`` to work."""
        needed = [*self.columns, *(name for feature in self.derived for name in feature.needs)]
        return tuple(dict.fromkeys(needed))


def engineer(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The kept raw columns plus the derived ones; other columns of ``frame`` are ignored,
    so the fitted model predicts straight from raw rows (id and target included)."""
    missing = [name for name in spec.required_raw_columns() if name not in frame.columns]
    if missing:
        raise ValueError(f"input rows lack column(s) {', '.join(missing)}")
    date_columns = dict(spec.dates)
    plain = [name for name in spec.columns if name not in date_columns]
    parts = [frame.loc[:, plain],
             *(date_features.date_parts(frame[name], fmt) for name, fmt in spec.dates),
             *(feature(frame) for feature in spec.derived)]
    return pd.concat(parts, axis=1)


def _names_out(transformer: FunctionTransformer, input_features: Any) -> list[str]:
    """``feature_names_out`` hook so the pipeline can report its output names."""
    return list(transformer.kw_args["spec"].feature_names())


def split_kinds(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[list[str], list[str]]:
    """(numeric, categorical) columns of an engineered frame: explicit choices win, else
    numbers are numeric (booleans excluded: the imputer rejects them), the rest categorical."""
    numeric, categorical = [], []
    for name in frame.columns:
        dtype = frame[name].dtype
        by_dtype = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if name in spec.numeric or (name not in spec.categorical and by_dtype):
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
    """Categories as strings (gaps stay missing): numeric codes forced categorical would
    otherwise reject the imputer's string fill value."""
    return frame.astype("str")


def _as_number(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(pd.to_numeric, errors="raise")


def _numeric_steps(spec: FeatureSpec) -> Pipeline:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    steps: list[tuple[str, Any]] = [
        ("as_number", FunctionTransformer(_as_number, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy=spec.numeric_impute)),
    ]
    if spec.scale_numeric:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def _categorical_steps(spec: FeatureSpec) -> Pipeline:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    return Pipeline([
        ("as_text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy=spec.categorical_impute, fill_value=MISSING_CATEGORY)),
        # Levels unseen in fit join the rare-levels column when there is one, else all zeros.
        ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                  max_categories=spec.max_categories or None,
                                  min_frequency=spec.min_frequency or None)),
    ])


def build_features(spec: FeatureSpec) -> Pipeline:
    """Unfitted pipeline: ``engineer``, then impute (+ scale) numeric and impute + one-hot
    categorical features, returning a DataFrame with readable names (``Age``, ``Sex_female``).
    Categories unseen during fit encode as all zeros."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    encode = ColumnTransformer(
        [("numeric", _numeric_steps(spec), ColumnsOfKind(spec, "numeric")),
         ("categorical", _categorical_steps(spec), ColumnsOfKind(spec, "categorical"))],
        verbose_feature_names_out=False,
    )
    engineer_step = FunctionTransformer(engineer, kw_args={"spec": spec},
                                        feature_names_out=_names_out)
    return Pipeline([("engineer", engineer_step), ("encode", encode)]).set_output(
        transform="pandas")


def check_numeric(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Columns forced numeric must hold numbers (checked on the raw table before a run)."""
    for name in columns:
        if name not in frame.columns:
            continue
        parsed = pd.to_numeric(frame[name], errors="coerce")
        bad = frame[name][parsed.isna() & frame[name].notna()]
        if len(bad):
            raise FeatureConfigError(f"numeric_columns lists {name!r}, but it holds text such "
                                     f"as {bad.iloc[0]!r}; remove it from numeric_columns")
