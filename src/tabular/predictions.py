"""The predictions file: ``<id>,<target>`` per test row, or ``<target>`` in row order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def make_predictions(ids: pd.Series | None, predictions: ArrayLike, id_column: str,
                     target: str) -> pd.DataFrame:
    """One row per test row with the original label values (or numbers, for regression).

    Raises ``ValueError`` on a length mismatch or duplicate ids: such a file would be
    rejected (or silently misscored) by whoever reads it.
    """
    values = np.asarray(predictions)
    if ids is None:
        return pd.DataFrame({target: values})
    if len(ids) != len(values):
        raise ValueError(f"{len(ids)} ids but {len(values)} predictions")
    if ids.duplicated().any():
        raise ValueError(f"id column {id_column!r} has duplicate values")
    return pd.DataFrame({id_column: ids.to_numpy(), target: values})


def write_predictions(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as csv (header, no index)."""
    table.to_csv(path, index=False)
