"""resolve_contract: the contract decided from the raw tables, and every check on them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tabular.contract import ContractError, DataContract
from tabular.dataset import DatasetConfig, read_table, resolve_contract
from tabular.sources import InputError

TRAIN = pd.DataFrame({"id": [1, 2, 3, 4], "a": [1.5, 2.0, 3.25, 4.0], "b": ["x", "y", "x", "y"],
                      "label": ["yes", "no", "yes", "no"]})
TEST = pd.DataFrame({"id": [5, 6], "a": [1.5, 2.5], "b": ["y", "x"]})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    TRAIN.to_csv(tmp_path / "train.csv", index=False)
    TEST.to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def resolve(folder: Path, needs: tuple[str, ...] = (), **config: object) -> DataContract:
    return resolve_contract(DatasetConfig(folder, **config), needs)  # type: ignore[arg-type]


def test_target_and_problem_are_inferred(folder: Path) -> None:
    contract = resolve(folder)
    assert contract == DataContract("label", "", "binary", ("no", "yes"), ("id", "a", "b"), True)


def test_id_column_is_not_a_feature(folder: Path) -> None:
    contract = resolve(folder, id_column="id")
    assert (contract.id_column, contract.features) == ("id", ("a", "b"))


def test_listed_train_columns_drop_target_and_id(folder: Path) -> None:
    contract = resolve(folder, train_columns=("id", "label", "b"), id_column="id")
    assert contract.features == ("b",)


def test_explicit_problem_and_train_only_data(folder: Path) -> None:
    contract = resolve(folder, test_file="", target="label", problem="multiclass")
    assert (contract.problem, contract.classes, contract.has_test) == ("multiclass",
                                                                        ("no", "yes"), False)


def test_regression_target(folder: Path) -> None:
    contract = resolve(folder, target="a", test_file="", train_columns=("b",))
    assert (contract.problem, contract.classes, contract.features) == ("regression", (), ("b",))


def test_parquet_tables(folder: Path) -> None:
    TRAIN.to_parquet(folder / "train.parquet")
    contract = resolve(folder, train_file="train.parquet", id_column="id")
    assert contract.features == ("a", "b")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"target": "lable"}, "train.csv has no column(s) 'lable' (did you mean 'label'?) "
                              "(available: id, a, b, label)"),
        ({"train_columns": ("a", "c")}, "train_columns: train.csv has no column(s) 'c'"),
        ({"test_columns": ("a",)}, "disagree on the features (only in train: b, id; only in "
                                   "test: -)"),
        ({"test_columns": ("a", "b", "c"), "id_column": "id"}, "only in train: -; only in test: c"),
        ({"test_columns": ("a", "b", "label")}, "test_columns lists the target 'label'"),
        ({"problem": "regression"}, "'label' is not numeric"),
        ({"problem": "binar"}, "problem 'binar' is unknown; use one of auto, binary, "
                               "multiclass, regression"),
        ({"test_file": ""}, "no test table to infer it from"),
        ({"id_column": "key"}, "test.csv has no column(s) 'key'"),
    ],
)
def test_bad_config_is_one_contract_error(folder: Path, config: dict[str, object],
                                          fragment: str) -> None:
    with pytest.raises(ContractError) as error:
        resolve(folder, **config)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_test_table_lacking_a_feature(folder: Path) -> None:
    TEST.drop(columns=["b"]).to_csv(folder / "test.csv", index=False)
    with pytest.raises(ContractError) as error:
        resolve(folder, target="label")
    assert str(error.value).startswith(f"the test table {folder / 'test.csv'} has no column(s) "
                                       "'b' (available: id, a)")
    assert resolve(folder, target="label", train_columns=("a",)).features == ("a",)


def test_derived_needs_are_checked_in_both_tables(folder: Path) -> None:
    TEST.drop(columns=["b"]).to_csv(folder / "test.csv", index=False)
    contract = resolve(folder, ("a",), target="label", train_columns=("id",))
    assert contract.features == ("id",), "needs are read, not added to the features"
    with pytest.raises(ContractError, match=r"the train table .* has no column\(s\) 'zz'"):
        resolve(folder, ("zz",), target="label", train_columns=("a",))
    with pytest.raises(ContractError, match=r"the test table .* has no column\(s\) 'b'"):
        resolve(folder, ("b",), target="label", train_columns=("a",))


def test_bad_ids_in_the_test_table(folder: Path) -> None:
    TEST.assign(id=["k", "k"]).to_csv(folder / "test.csv", index=False)
    with pytest.raises(ContractError, match=r"'id' has duplicate values in .*test\.csv"):
        resolve(folder, id_column="id")


def test_bad_target_values(folder: Path) -> None:
    TRAIN.assign(label=["yes", None, "no", "yes"]).to_csv(folder / "train.csv", index=False)
    with pytest.raises(ContractError, match=r"'label' is missing in 1 training row\(s\)"):
        resolve(folder)


def test_missing_tables_are_input_errors(folder: Path) -> None:
    with pytest.raises(InputError, match=r"^train_file = 'nope\.csv'"):
        resolve(folder, train_file="nope.csv")
    with pytest.raises(InputError, match=r"^test_file = 'nope\.csv'"):
        resolve(folder, test_file="nope.csv", target="label")


def test_undecodable_test_table_fails_in_the_check(folder: Path) -> None:
    # The header is ASCII; only reading a column in full meets the Latin-1 byte.
    (folder / "test.csv").write_bytes("id,a,b\n5,1.5,Zürich\n".encode("latin-1"))
    with pytest.raises(InputError, match="is not utf-8 text"):
        resolve(folder, target="label", train_columns=("b",))
    assert resolve(folder, target="label", train_columns=("b",), encoding="latin-1").has_test


def test_sources_and_read_table(folder: Path) -> None:
    config = DatasetConfig(folder)
    assert [source.path for source in config.sources()] == [folder / "train.csv",
                                                             folder / "test.csv"]
    assert len(DatasetConfig(folder, test_file="").sources()) == 1
    table = read_table(config.source("test"), ["b", "id", "b"])
    assert list(table.columns) == ["b", "id"]
