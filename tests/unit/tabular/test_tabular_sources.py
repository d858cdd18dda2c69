"""Locating and reading raw tables: csv, tsv, parquet, zip members (named or found), and the
errors for missing, oversized, damaged and wrongly encoded input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tabular.sources import InputError, Source, column_of, columns_of, locate, read

TITANIC_FILES = ("train.csv", "test.csv", "gender_submission.csv")
SMALL = pd.DataFrame({"id": [1, 2, 3], "city": ["Köln", "Zürich", "Oslo"], "x": [0.5, 1.5, 2.5]})


def make_zip(folder: Path, members: dict[str, bytes | str], name: str = "data.zip",
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return path


def kaggle_zip(titanic_dir: Path, folder: Path, prefix: str = "") -> Path:
    """A titanic.zip like Kaggle's download, built from the real csv files."""
    return make_zip(folder, {prefix + name: (titanic_dir / name).read_bytes()
                             for name in TITANIC_FILES}, name="titanic.zip")


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_csv_columns_whole_table_and_column_subsets(tmp_path: Path) -> None:
    SMALL.to_csv(tmp_path / "t.csv", index=False)
    source = locate(tmp_path, "t.csv")
    assert source == Source(tmp_path / "t.csv") and source.member is None
    assert columns_of(source) == ("id", "city", "x")
    pd.testing.assert_frame_equal(read(source), SMALL, check_dtype=False)
    assert list(read(source, ["x", "id"]).columns) == ["x", "id"], "in the requested order"
    assert column_of(source, "city").tolist() == ["Köln", "Zürich", "Oslo"]


def test_column_of_returns_a_copy(tmp_path: Path) -> None:
    SMALL.to_csv(tmp_path / "t.csv", index=False)
    source = locate(tmp_path, "t.csv")
    column = column_of(source, "x")
    column.iloc[0] = 99.0
    assert column_of(source, "x")[0] == 0.5, "the cached column is not shared"


def test_parquet_and_tsv(tmp_path: Path) -> None:
    SMALL.to_parquet(tmp_path / "t.parquet")
    SMALL.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    for name in ("t.parquet", "t.tsv"):
        source = locate(tmp_path, name)
        assert columns_of(source) == ("id", "city", "x")
        pd.testing.assert_frame_equal(read(source, ["city", "id"]), SMALL[["city", "id"]],
                                      check_dtype=False)
    assert locate(tmp_path, "t.parquet").is_parquet and not locate(tmp_path, "t.tsv").is_parquet


def test_explicit_zip_member(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    make_zip(tmp_path / "in", {"tables/t.csv": SMALL.to_csv(index=False), "t.csv": "a\n1\n"})
    nested = locate(tmp_path / "in", "data.zip:tables/t.csv")
    assert (nested.path, nested.member, nested.name) == (tmp_path / "in" / "data.zip",
                                                         "tables/t.csv", "t.csv")
    assert nested.describe() == f"{tmp_path / 'in' / 'data.zip'}:tables/t.csv"
    assert columns_of(nested) == ("id", "city", "x")
    assert read(locate(tmp_path / "in", "data.zip:t.csv"))["a"].tolist() == [1]


def test_parquet_member_of_a_zip(tmp_path: Path) -> None:
    make_zip(tmp_path, {"t.parquet": SMALL.to_parquet()})
    source = locate(tmp_path, "data.zip:t.parquet")
    assert source.is_parquet
    assert columns_of(source) == ("id", "city", "x")
    assert read(source, ["x"])["x"].tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("prefix", ["", "titanic/"])
def test_plain_name_is_found_in_the_kaggle_zip(titanic_dir: Path, tmp_path: Path,
                                               prefix: str) -> None:
    kaggle_zip(titanic_dir, tmp_path, prefix)
    for name in ("train.csv", "test.csv"):
        source = locate(tmp_path, name)
        assert (source.path, source.member) == (tmp_path / "titanic.zip", prefix + name)
        pd.testing.assert_frame_equal(read(source), pd.read_csv(titanic_dir / name))
    assert not (tmp_path / "train.csv").exists(), "the zip is read in place"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["titanic.zip"]


def test_a_plain_file_wins_over_the_zip(titanic_dir: Path, tmp_path: Path) -> None:
    kaggle_zip(titanic_dir, tmp_path)
    (tmp_path / "train.csv").write_text("PassengerId,Survived\n1,0\n")
    assert locate(tmp_path, "train.csv").member is None
    assert len(read(locate(tmp_path, "train.csv"))) == 1
    assert len(read(locate(tmp_path, "test.csv"))) == 418


def test_missing_file_names_folder_option_and_fix(tmp_path: Path) -> None:
    make_zip(tmp_path, {"other.csv": "a,b\n1,2\n"})
    with pytest.raises(InputError) as error:
        locate(tmp_path, "train.csv", option="test_file")
    message = one_line(error)
    assert message.startswith(f"test_file = 'train.csv': {tmp_path} has no such file")
    assert "Preprocessor.test_file" in message
    assert isinstance(error.value, ValueError)


def test_missing_archive_and_missing_member(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no archive .*nope\.zip; fix the file name") as error:
        locate(tmp_path, "nope.zip:t.csv")
    one_line(error)
    make_zip(tmp_path, {"a.csv": "x\n1\n", "dir/b.csv": "x\n2\n"})
    with pytest.raises(InputError) as error:
        locate(tmp_path, "data.zip:b.csv")  # an explicit member is matched exactly
    assert "has no member 'b.csv' (members: a.csv, dir/b.csv)" in one_line(error)


def test_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "titanic.zip").write_bytes(b"<html>login required</html>")
    with pytest.raises(InputError, match="is not a readable zip archive") as error:
        locate(tmp_path, "train.csv")
    one_line(error)


def test_oversized_member_is_refused_before_extraction(tmp_path: Path) -> None:
    # 3 MB of one repeated line deflates to a few kB; the declared size is what counts.
    path = make_zip(tmp_path, {"big.csv": "a\n" + "0\n" * 1_500_000})
    assert path.stat().st_size < 50_000
    # Damage the compressed data: extracting any of it would now fail with a zlib/CRC error,
    # so the size message proves nothing was inflated.
    raw = bytearray(path.read_bytes())
    for offset in range(100, 2000, 50):
        raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))
    source = locate(tmp_path, "data.zip:big.csv", max_member_mb=1)
    for attempt in (lambda: columns_of(source), lambda: read(source)):
        with pytest.raises(InputError) as error:
            attempt()
        message = one_line(error)
        assert "big.csv expands to 3 MB, over the 1 MB limit" in message
        assert "Preprocessor.max_member_mb" in message


def test_member_with_a_bad_crc_fails_on_the_full_read(tmp_path: Path) -> None:
    body = "a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(60_000))  # > pandas' read chunk
    path = make_zip(tmp_path, {"t.csv": body}, compression=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    raw[raw.rfind(b"59990,")] = ord("8")  # the stored bytes change, the recorded CRC does not
    path.write_bytes(bytes(raw))
    source = locate(tmp_path, "data.zip:t.csv")
    assert columns_of(source) == ("a", "b"), "the header alone does not reach the CRC check"
    with pytest.raises(InputError) as error:
        column_of(source, "a")
    message = one_line(error)
    assert "data.zip:t.csv is damaged (Bad CRC-32" in message
    assert "zip it again" in message


def test_non_utf8_csv_names_the_encoding_fix(tmp_path: Path) -> None:
    SMALL.to_csv(tmp_path / "t.csv", index=False, encoding="latin-1")
    with pytest.raises(InputError) as error:
        read(locate(tmp_path, "t.csv"))
    message = one_line(error)
    assert "t.csv is not utf-8 text" in message
    assert "Preprocessor.encoding" in message and 'encoding = "latin-1"' in message
    latin = locate(tmp_path, "t.csv", encoding="latin-1")
    assert read(latin)["city"].tolist() == ["Köln", "Zürich", "Oslo"]


def test_unreadable_csv_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"empty\.csv cannot be read as csv") as error:
        read(locate(tmp_path, "empty.csv"))
    one_line(error)


def test_damaged_parquet_header_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"t\.parquet cannot be read as parquet"):
        columns_of(locate(tmp_path, "t.parquet"))
