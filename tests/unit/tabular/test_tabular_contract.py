"""The data contract's pieces: target and problem inference, target, id and fold checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabular.contract import (
    MAX_INFERRED_CLASSES,
    ContractError,
    DataContract,
    check_ids,
    check_smallest_class,
    check_target,
    infer_problem,
    infer_target,
    label_values,
)


def test_infer_target_is_the_one_column_test_lacks() -> None:
    assert infer_target(["PassengerId", "Survived", "Age"], ["PassengerId", "Age"]) == "Survived"


@pytest.mark.parametrize(
    ("train", "test", "fragment"),
    [
        (["id", "y"], None, "no test table to infer it from"),
        (["id", "y", "z"], ["id"], "columns only in the train table: y, z"),
        (["id", "y"], ["id", "y"], "columns only in the train table: none"),
    ],
)
def test_infer_target_needs_exactly_one_candidate(train: list[str], test: list[str] | None,
                                                  fragment: str) -> None:
    with pytest.raises(ContractError) as error:
        infer_target(train, test)
    assert fragment in str(error.value)
    assert "set Preprocessor.target" in str(error.value)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([True, False, True], "binary"),
        (["yes", "no", None, "yes"], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([0, 1, 1, 0], "binary"),
        ([0.0, 1.0, np.nan], "binary"),
        ([1, 2, 3, 2], "multiclass"),
        (list(range(MAX_INFERRED_CLASSES)), "multiclass"),
        (list(range(MAX_INFERRED_CLASSES + 1)), "regression"),
        ([0.5, 1.0, 2.0], "regression"),
        ([1.5, 2.5], "regression"),
    ],
)
def test_infer_problem(values: list[object], problem: str) -> None:
    assert infer_problem(pd.Series(values)) == problem


def test_label_values_are_sorted_plain_python() -> None:
    classes = label_values(pd.Series(np.array([3, 1, 2, 1])))
    assert classes == (1, 2, 3)
    assert all(type(value) is int for value in classes), "numpy scalars do not serialise"
    assert label_values(pd.Series([True, False])) == (False, True)
    assert label_values(pd.Series(["no", "yes", None])) == ("no", "yes")


def test_check_target_returns_the_classes() -> None:
    assert check_target(pd.Series(["b", "a", "b"]), "y", "binary") == ("a", "b")
    assert check_target(pd.Series([2, 0, 1]), "y", "multiclass") == (0, 1, 2)
    assert check_target(pd.Series([0.5, 3.0]), "y", "regression") == ()


@pytest.mark.parametrize(
    ("values", "problem", "fragment"),
    [
        ([1.0, np.nan, 0.0, np.nan], "binary", "target 'y' is missing in 2 training row(s)"),
        ([1.5, None], "regression", "missing in 1 training row(s)"),
        (["a", "a"], "binary", "target 'y' has a single class ('a')"),
        (["a", "b", "c"], "binary",
         'has 3 classes, not 2; set Preprocessor.problem = "multiclass"'),
        (["a", "b"], "regression", "'y' is not numeric, so it cannot be regressed"),
        ([True, False], "regression", "is not numeric"),
    ],
)
def test_check_target_rejects(values: list[object], problem: str, fragment: str) -> None:
    with pytest.raises(ContractError) as error:
        check_target(pd.Series(values), "y", problem)  # type: ignore[arg-type]
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_check_ids() -> None:
    check_ids(pd.Series([3, 1, 2]), "id", "test.csv")
    with pytest.raises(ContractError, match=r"'id' is missing in 1 row\(s\) of test\.csv"):
        check_ids(pd.Series([1.0, None, 3.0]), "id", "test.csv")
    with pytest.raises(ContractError, match=r"'id' has duplicate values in test\.csv \(e\.g\. 'b'"):
        check_ids(pd.Series(["a", "b", "b"]), "id", "test.csv")


def test_check_smallest_class() -> None:
    check_smallest_class(pd.Series(["a", "a", "b", "b"]), 2)
    with pytest.raises(ContractError) as error:
        check_smallest_class(pd.Series(["a", "a", "a", "b"]), 2)
    assert str(error.value) == ("class 'b' has 1 training rows, fewer than Evaluator.folds = 2; "
                                "set folds <= 1 or add data")


def test_messages_show_integer_labels_and_ids_plainly() -> None:
    with pytest.raises(ContractError, match=r"^class 1 has 1 training rows"):
        check_smallest_class(pd.Series([0, 0, 0, 1]), 2)
    with pytest.raises(ContractError, match=r"\(e\.g\. 5\)"):
        check_ids(pd.Series([5, 5]), "id", "test.csv")


@pytest.mark.parametrize("classes", [(False, True), ("no", "yes"), (0, 1, 2), ()])
def test_contract_round_trips_through_json(tmp_path: Path, classes: tuple[object, ...]) -> None:
    problem = "regression" if not classes else "binary" if len(classes) == 2 else "multiclass"
    contract = DataContract("y", "id", problem, classes, ("a", "b"), True)  # type: ignore[arg-type]
    path = tmp_path / "contract.json"
    path.write_text(contract.to_json())
    assert DataContract.read(path) == contract
    assert contract.is_classification == bool(classes)
