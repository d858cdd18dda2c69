"""The Kaggle submission frame and file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from titanic.submission import make_submission, write_submission


def test_make_submission_has_exactly_two_int_columns() -> None:
    submission = make_submission(pd.Series([892, 893, 894]), np.array([0.0, 1.0, 1.0]))
    assert list(submission.columns) == ["PassengerId", "Survived"]
    assert submission["PassengerId"].tolist() == [892, 893, 894]
    assert submission["Survived"].tolist() == [0, 1, 1]
    assert all(pd.api.types.is_integer_dtype(dtype) for dtype in submission.dtypes)


@pytest.mark.parametrize(
    ("ids", "predictions", "fragment"),
    [
        ([1, 2, 3], [0, 1], "3 passenger ids but 2 predictions"),
        ([1, 1], [0, 1], "not unique"),
        ([1, 2], [0.3, 1], "must be 0 or 1"),
    ],
)
def test_make_submission_rejects_malformed_input(
    ids: list[int], predictions: list[float], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        make_submission(pd.Series(ids), predictions)


def test_submission_file_for_the_test_set(
    fitted_default_model: Pipeline, test_frame: pd.DataFrame, tmp_path: Path
) -> None:
    submission = make_submission(
        test_frame["PassengerId"], fitted_default_model.predict(test_frame)
    )
    path = tmp_path / "submission.csv"
    write_submission(submission, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "PassengerId,Survived"
    assert len(lines) == 1 + 418
    written = pd.read_csv(path)
    assert written["PassengerId"].tolist() == test_frame["PassengerId"].tolist()
    assert set(written["Survived"]) <= {0, 1}
