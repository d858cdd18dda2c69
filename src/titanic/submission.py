"""The Kaggle submission file: one ``PassengerId,Survived`` row per test passenger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from titanic.data import ID_COLUMN, TARGET_COLUMN

SUBMISSION_COLUMNS: tuple[str, str] = (ID_COLUMN, TARGET_COLUMN)


def make_submission(passenger_ids: pd.Series, predictions: ArrayLike) -> pd.DataFrame:
    """Submission frame with exactly the int columns PassengerId and Survived (0/1).

    Rows follow ``passenger_ids``; ``predictions`` must be aligned with it positionally.
    Raises ``ValueError`` on a length mismatch, duplicate ids, or non-0/1 predictions, since
    Kaggle would reject (or silently misscore) such a file.
    """
    ids = np.asarray(passenger_ids)
    survived = np.asarray(predictions)
    if len(ids) != len(survived):
        raise ValueError(f"{len(ids)} passenger ids but {len(survived)} predictions")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("passenger ids are not unique")
    binary = np.isin(survived, (0, 1))
    if not binary.all():
        examples = sorted(set(survived[~binary].tolist()))[:5]
        raise ValueError(f"predictions must be 0 or 1, got e.g. {examples}")
    return pd.DataFrame({ID_COLUMN: ids.astype(int), TARGET_COLUMN: survived.astype(int)})


def write_submission(submission: pd.DataFrame, path: Path) -> None:
    """Write ``submission`` as the csv Kaggle expects (header, no index)."""
    submission.to_csv(path, columns=list(SUBMISSION_COLUMNS), index=False)
