"""The predictions table: one row per test row, keyed by id or in row order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular.predictions import make_predictions, write_predictions


def test_with_ids_keeps_id_and_label_values() -> None:
    table = make_predictions(pd.Series([892, 894, 893]), np.array([0, 1, 1]), "PassengerId",
                             "Survived")
    assert list(table.columns) == ["PassengerId", "Survived"]
    assert table["PassengerId"].tolist() == [892, 894, 893], "the test table's order"
    assert table["Survived"].tolist() == [0, 1, 1]
    assert all(pd.api.types.is_integer_dtype(dtype) for dtype in table.dtypes)


def test_ids_with_their_own_index_are_taken_by_position() -> None:
    ids = pd.Series(["a", "b"], index=[10, 20])
    table = make_predictions(ids, ["yes", "no"], "key", "label")
    assert table.to_dict("list") == {"key": ["a", "b"], "label": ["yes", "no"]}


def test_without_ids_predictions_follow_the_row_order() -> None:
    table = make_predictions(None, np.array([2.5, 0.1]), "", "price")
    assert list(table.columns) == ["price"]
    assert table["price"].tolist() == [2.5, 0.1]


@pytest.mark.parametrize(
    ("ids", "predictions", "fragment"),
    [([1, 2, 3], [0, 1], "^3 ids but 2 predictions$"),
     ([1], [0, 1], "^1 ids but 2 predictions$"),
     ([1, 1], [0, 1], "^id column 'id' has duplicate values$")],
)
def test_malformed_input_is_refused(ids: list[int], predictions: list[int],
                                    fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        make_predictions(pd.Series(ids), predictions, "id", "y")


def test_write_predictions_csv_has_a_header_and_no_index(tmp_path: Path) -> None:
    path = tmp_path / "submission.csv"
    write_predictions(make_predictions(pd.Series([5, 6]), [True, False], "id", "spam"), path)
    assert path.read_text().splitlines() == ["id,spam", "5,True", "6,False"]
