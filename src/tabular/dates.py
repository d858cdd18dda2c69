"""Dates stored as text: recognising them, and the numeric features made from them.

A text column holds dates when the format guessed from its first value parses nearly all of its
values. The format is decided once, on the train table, and kept in the feature pipeline, so the
test table is read the same way (a value it does not parse becomes a gap, imputed like any other).
"""

from __future__ import annotations

import pandas as pd

# A column is taken for dates when at least this share of its non-empty values parse.
MIN_PARSED_SHARE = 0.95
# The numeric features one date column becomes (suffixes of the column's name).
PARTS = ("year", "month", "day", "dayofweek", "epoch_days")
SECONDS_PER_DAY = 86_400


def date_format(values: pd.Series) -> str | None:
    """The strftime format of the dates ``values`` hold as text, or None when they do not."""
    present = values.dropna()
    if present.empty:
        return None
    from pandas.tseries.api import guess_datetime_format

    fmt = guess_datetime_format(str(present.iloc[0]))
    if fmt is None:
        return None
    parsed = pd.to_datetime(present.astype("str"), format=fmt, errors="coerce")
    return fmt if parsed.notna().mean() >= MIN_PARSED_SHARE else None


def part_names(column: str) -> tuple[str, ...]:
    return tuple(f"{column}_{part}" for part in PARTS)


def date_parts(values: pd.Series, fmt: str) -> pd.DataFrame:
    """Year, month, day, day of week (Monday = 0) and days since 1970-01-01 (UTC for dates
    with a time zone) of each value; gaps where a value does not parse as ``fmt`` (values of
    a datetime dtype, e.g. from parquet, need no parsing: ``fmt`` is then "")."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values.astype("str").where(values.notna()), format=fmt,
                                errors="coerce")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    epoch_days = (parsed - pd.Timestamp("1970-01-01")).dt.total_seconds() / SECONDS_PER_DAY
    columns = (parsed.dt.year, parsed.dt.month, parsed.dt.day, parsed.dt.day_of_week, epoch_days)
    name = str(values.name)
    return pd.DataFrame({part: column.astype("float64")
                         for part, column in zip(part_names(name), columns, strict=True)},
                        index=values.index)
