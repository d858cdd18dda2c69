"""Reading raw files from csv or Kaggle's zip, and the column checks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from titanic.data import (
    MissingColumnsError,
    MissingInputError,
    check_columns,
    input_files,
    raw_columns,
    read_raw,
)

TRAIN_HEADER = [
    "PassengerId",
    "Survived",
    "Pclass",
    "Name",
    "Sex",
    "Age",
    "SibSp",
    "Parch",
    "Ticket",
    "Fare",
    "Cabin",
    "Embarked",
]


def make_zip(titanic_dir: Path, folder: Path, prefix: str = "") -> Path:
    """A titanic.zip like Kaggle's download, built from the real csv files."""
    archive_path = folder / "titanic.zip"
    with zipfile.ZipFile(archive_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("train.csv", "test.csv", "gender_submission.csv"):
            archive.write(titanic_dir / name, arcname=prefix + name)
    return archive_path


def assert_one_line(error: pytest.ExceptionInfo[BaseException]) -> None:
    assert "\n" not in str(error.value)


def test_read_raw_reads_both_csv_files(titanic_dir: Path) -> None:
    train = read_raw(titanic_dir, "train.csv")
    test = read_raw(titanic_dir, "test.csv")
    assert train.shape == (891, 12)
    assert list(train.columns) == TRAIN_HEADER
    assert test.shape == (418, 11)
    assert "Survived" not in test.columns


def test_read_raw_returns_usecols_in_requested_order(titanic_dir: Path) -> None:
    frame = read_raw(titanic_dir, "train.csv", usecols=["Sex", "PassengerId", "Age"])
    assert list(frame.columns) == ["Sex", "PassengerId", "Age"]
    assert len(frame) == 891


def test_read_raw_usecols_names_missing_column(titanic_dir: Path) -> None:
    with pytest.raises(MissingColumnsError, match=r"'Sexx' \(did you mean 'Sex'\?\)") as error:
        read_raw(titanic_dir, "train.csv", usecols=["Sexx", "Age"])
    assert "train.csv" in str(error.value)
    assert_one_line(error)


def test_read_raw_from_zip_matches_csv(titanic_dir: Path, tmp_path: Path) -> None:
    make_zip(titanic_dir, tmp_path)
    for name in ("train.csv", "test.csv"):
        pd.testing.assert_frame_equal(read_raw(tmp_path, name), read_raw(titanic_dir, name))
    assert not (tmp_path / "train.csv").exists(), "the zip must be read in place"


def test_read_raw_from_zip_with_usecols_and_nested_folder(
    titanic_dir: Path, tmp_path: Path
) -> None:
    make_zip(titanic_dir, tmp_path, prefix="titanic/")
    frame = read_raw(tmp_path, "test.csv", usecols=["PassengerId", "Pclass"])
    assert list(frame.columns) == ["PassengerId", "Pclass"]
    assert len(frame) == 418


def test_raw_columns_reads_the_header_from_csv_and_zip(titanic_dir: Path, tmp_path: Path) -> None:
    assert raw_columns(titanic_dir, "train.csv") == TRAIN_HEADER
    make_zip(titanic_dir, tmp_path)
    assert raw_columns(tmp_path, "train.csv") == TRAIN_HEADER


def test_csv_wins_over_zip(titanic_dir: Path, tmp_path: Path) -> None:
    make_zip(titanic_dir, tmp_path)
    (tmp_path / "train.csv").write_text("PassengerId,Survived\n1,0\n")
    assert len(read_raw(tmp_path, "train.csv")) == 1
    assert len(read_raw(tmp_path, "test.csv")) == 418
    assert input_files(tmp_path) == [tmp_path / "train.csv", tmp_path / "titanic.zip"]


def test_input_files_lists_the_files_read(titanic_dir: Path, tmp_path: Path) -> None:
    assert input_files(titanic_dir) == [titanic_dir / "train.csv", titanic_dir / "test.csv"]
    make_zip(titanic_dir, tmp_path)
    assert input_files(tmp_path) == [tmp_path / "titanic.zip"]


def test_missing_input_explains_how_to_download(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError) as error:
        read_raw(tmp_path, "train.csv")
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert f"input folder {tmp_path} has neither train.csv nor titanic.zip" in message
    assert "https://www.kaggle.com/c/titanic/data" in message
    assert_one_line(error)
    with pytest.raises(MissingInputError):
        raw_columns(tmp_path, "test.csv")
    with pytest.raises(MissingInputError):
        input_files(tmp_path)


def test_zip_without_the_member_is_reported(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "titanic.zip", "w") as archive:
        archive.writestr("other.csv", "a,b\n1,2\n")
    with pytest.raises(MissingInputError, match=r"has no member train\.csv") as error:
        read_raw(tmp_path, "train.csv")
    assert_one_line(error)


def test_corrupt_zip_is_reported(tmp_path: Path) -> None:
    (tmp_path / "titanic.zip").write_bytes(b"<html>login required</html>")
    with pytest.raises(MissingInputError, match="not a valid zip archive") as error:
        read_raw(tmp_path, "train.csv")
    assert_one_line(error)


def test_check_columns_names_missing_where_and_available() -> None:
    with pytest.raises(MissingColumnsError) as error:
        check_columns(["PassengerId", "Pclass", "Sex"], ["Pclass", "Agee", "Cabin"], "test.csv")
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert message.startswith("test.csv has no column(s) 'Agee', 'Cabin'")
    assert "available: PassengerId, Pclass, Sex" in message
    assert_one_line(error)


def test_check_columns_accepts_present_columns() -> None:
    check_columns(iter(["a", "b", "c"]), ("c", "a"), "anywhere")
