"""Screening the raw feature columns before the run: what cannot be a plain feature.

What AutoML tools look for, on the train table: id-like columns (near-unique text, integer
sequences), constant columns, dates stored as text and high-cardinality categories. By default
id-like and constant columns are dropped, dates become numeric features (``tabular.dates``) and
high-cardinality columns are reported: the one-hot encoder keeps their most frequent categories
(``FeatureSpec.max_categories``). Every decision is a ``ColumnDecision`` the plan prints and
``contract.json`` records.

A column the user named is the user's choice: ``keep_columns`` keeps it exactly as it is;
``numeric_columns``/``categorical_columns`` keep it and fix its encoding; a column listed in
``train_columns`` is never dropped (the plan says what was found), but a date column listed
there still becomes date features. Inf in a numeric feature is refused here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular import dates
from tabular.contract import ColumnDecision, ContractError, plain

DEFAULT_ID_SHARE = 0.95
# Fewer non-empty values than this say too little to call a column id-like.
ID_MIN_ROWS = 50


@dataclass(frozen=True)
class ScreeningSettings:
    """``[Preprocessor]`` keys that steer screening (see the module docstring)."""

    detect: bool = True
    keep: tuple[str, ...] = ()
    listed: tuple[str, ...] = ()  # train_columns
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    max_categories: int = 0  # 0: high cardinality is not reported (the one-hot is unbounded)
    id_share: float = DEFAULT_ID_SHARE

    def chosen_by(self, column: str, *, listed: bool = True) -> str:
        """The option by which the user chose ``column`` as it is ("" when none did)."""
        options = [("keep_columns", self.keep), ("numeric_columns", self.numeric),
                   ("categorical_columns", self.categorical),
                   *([("train_columns", self.listed)] if listed else [])]
        return next((f"{name} lists it" for name, names in options if column in names), "")


@dataclass(frozen=True)
class Screening:
    """The outcome: raw features ``kept``, date columns with their format, the decisions."""

    kept: tuple[str, ...]
    dates: tuple[tuple[str, str], ...]
    decisions: tuple[ColumnDecision, ...]


def screen(table: pd.DataFrame, features: Sequence[str], settings: ScreeningSettings
           ) -> Screening:
    """Screen the raw ``features`` of the train ``table``; ``ContractError`` for bad settings."""
    _check_settings(features, settings)
    if not settings.detect:
        return Screening(tuple(features), (), ())
    kept, found_dates, decisions = [], [], []
    for column in features:
        found = _detect(table[column], settings)
        decision = _decide(column, found, settings) if found else None
        if decision is not None:
            decisions.append(decision)
        if decision is None or decision.action != "dropped":
            kept.append(column)
        if decision is not None and decision.action == "dates" and found:
            found_dates.append((column, found[2]))
    return Screening(tuple(kept), tuple(found_dates), tuple(decisions))


def _check_settings(features: Sequence[str], settings: ScreeningSettings) -> None:
    unknown = [name for name in settings.keep if name not in features]
    if unknown:
        raise ContractError(f"keep_columns names {', '.join(map(repr, unknown))}, not a raw "
                            f"feature column (features: {', '.join(features)}); fix the name")
    if not 0 < settings.id_share <= 1:
        raise ContractError(f"id_like_share = {settings.id_share} must be in (0, 1], e.g. 0.95")


def _detect(values: pd.Series, settings: ScreeningSettings) -> tuple[str, str, str] | None:
    """(kind, evidence, date format or "") for a column unfit as a plain feature, else None."""
    present = values.dropna()
    if values.nunique(dropna=False) <= 1:
        detail = f"one value {plain(present.iloc[0])!r}" if len(present) else "always empty"
        return "constant", detail, ""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date", "datetime values", ""
    if pd.api.types.is_integer_dtype(values):
        return _integer_sequence(values)
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    fmt = dates.date_format(values)
    if fmt:
        return "date", f"format {fmt}", fmt
    distinct = present.nunique()
    if len(present) >= ID_MIN_ROWS and distinct >= settings.id_share * len(present):
        return "id-like", f"{distinct:,} distinct of {len(present):,}", ""
    if settings.max_categories and distinct > settings.max_categories:
        return "high-cardinality", f"{distinct:,} categories", ""
    return None


def _integer_sequence(values: pd.Series) -> tuple[str, str, str] | None:
    """An id counting rows: unique integers, consecutive or increasing in file order."""
    if len(values) < ID_MIN_ROWS or not values.is_unique:
        return None
    low, high = int(values.min()), int(values.max())
    if high - low + 1 == len(values) or values.is_monotonic_increasing:
        return "id-like", f"integer sequence {low:,}..{high:,}", ""
    return None


def _decide(column: str, found: tuple[str, str, str], settings: ScreeningSettings
            ) -> ColumnDecision | None:
    kind, detail = found[0], found[1]
    if kind == "high-cardinality":
        bound = (f"one-hot keeps its {settings.max_categories - 1:,} most frequent categories, "
                 f"the rest share one column (max_categories = {settings.max_categories})")
        numeric = column in settings.numeric
        return None if numeric else ColumnDecision(column, kind, "bounded", detail, bound)
    # A date listed in train_columns still becomes date features: listing keeps, not encodes.
    chosen = settings.chosen_by(column, listed=kind != "date")
    if chosen:
        return ColumnDecision(column, kind, "kept", detail, chosen)
    return ColumnDecision(column, kind, "dates" if kind == "date" else "dropped", detail)


def check_finite(table: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Numeric features must be finite: inf would fail the imputer or the model mid-run."""
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0])
            raise ContractError(f"feature {column!r} holds inf in {int(infinite.sum())} row(s) "
                                f"of {where} (first: data row {first + 1}); replace them with "
                                "numbers or leave the cells empty (gaps are imputed)")
