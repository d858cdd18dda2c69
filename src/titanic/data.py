"""Reading the raw Kaggle Titanic files and checking their columns.

The raw files live in an input folder either as the extracted ``train.csv``/``test.csv`` or
as Kaggle's ``titanic.zip`` download, which is read in place so users need not unzip it.
"""

from __future__ import annotations

import difflib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ID_COLUMN = "PassengerId"
TARGET_COLUMN = "Survived"
TRAIN_FILE = "train.csv"
TEST_FILE = "test.csv"
RAW_FILES: tuple[str, ...] = (TRAIN_FILE, TEST_FILE)
ZIP_FILE = "titanic.zip"
DOWNLOAD_URL = "https://www.kaggle.com/c/titanic/data"


class MissingInputError(ValueError):
    """A raw input file cannot be found (or read) in the input folder."""


class MissingColumnsError(ValueError):
    """A table lacks columns that the configuration asks for."""


@dataclass(frozen=True)
class RawSource:
    """Where one raw table is stored: a plain csv file, or a member of a zip archive."""

    path: Path
    member: str | None = None

    def describe(self) -> str:
        """Human-readable location, for error messages."""
        return str(self.path) if self.member is None else f"{self.path}!{self.member}"


def find_raw(input_dir: Path, name: str) -> RawSource:
    """Locate raw table ``name`` in ``input_dir``; the extracted csv wins over the zip.

    Raises ``MissingInputError`` when neither ``<input_dir>/<name>`` nor a ``titanic.zip``
    holding ``name`` exists.
    """
    input_dir = Path(input_dir)
    csv_path = input_dir / name
    if csv_path.is_file():
        return RawSource(csv_path)
    zip_path = input_dir / ZIP_FILE
    if not zip_path.is_file():
        raise MissingInputError(
            f"input folder {input_dir} has neither {name} nor {ZIP_FILE}: "
            f"download {ZIP_FILE} from {DOWNLOAD_URL} into {input_dir}"
        )
    return RawSource(zip_path, _zip_member(zip_path, name))


def _zip_member(zip_path: Path, name: str) -> str:
    """Name of the archive member holding ``name`` (at the top level or in one folder)."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.namelist()
    except zipfile.BadZipFile:
        raise MissingInputError(
            f"{zip_path} is not a valid zip archive: download {ZIP_FILE} again from {DOWNLOAD_URL}"
        ) from None
    if name in members:
        return name
    # Re-zipped downloads often wrap the files in a folder; accept exactly one such match.
    nested = [member for member in members if member.rsplit("/", 1)[-1] == name]
    if len(nested) == 1:
        return nested[0]
    raise MissingInputError(
        f"{zip_path} has no member {name} (members: {', '.join(members) or 'none'}): "
        f"download {ZIP_FILE} again from {DOWNLOAD_URL} or put {name} next to it"
    )


def _read_csv(source: RawSource, **read_options: object) -> pd.DataFrame:
    if source.member is None:
        return pd.read_csv(source.path, **read_options)
    with zipfile.ZipFile(source.path) as archive, archive.open(source.member) as stream:
        return pd.read_csv(stream, **read_options)


def read_raw(input_dir: Path, name: str, usecols: Sequence[str] | None = None) -> pd.DataFrame:
    """Read raw table ``name`` ("train.csv" or "test.csv") from ``input_dir`` or its zip.

    With ``usecols`` only those columns are returned, in the order given (pandas itself would
    return them in file order); a column absent from the file raises ``MissingColumnsError``.
    """
    source = find_raw(input_dir, name)
    if usecols is None:
        return _read_csv(source)
    wanted = list(dict.fromkeys(usecols))
    # Check against the header first so the error can list every available column.
    check_columns(_header(source), wanted, where=source.describe())
    return _read_csv(source, usecols=wanted)[wanted]


def _header(source: RawSource) -> list[str]:
    return [str(column) for column in _read_csv(source, nrows=0).columns]


def raw_columns(input_dir: Path, name: str) -> list[str]:
    """Column names of raw table ``name``, reading only its header line."""
    return _header(find_raw(input_dir, name))


def check_columns(available: Iterable[str], required: Iterable[str], where: str) -> None:
    """Raise ``MissingColumnsError`` unless every ``required`` column is ``available``.

    The one-line message names the missing columns (with a close match when there is one),
    ``where`` they were expected, and the columns that do exist.
    """
    available = list(available)
    missing = [column for column in dict.fromkeys(required) if column not in available]
    if not missing:
        return
    described = ", ".join(_with_suggestion(column, available) for column in missing)
    raise MissingColumnsError(
        f"{where} has no column(s) {described} (available: {', '.join(available)}): "
        "fix the column names in the config"
    )


def _with_suggestion(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def input_files(input_dir: Path, names: Sequence[str] = RAW_FILES) -> list[Path]:
    """The files actually read for ``names``: csv files and/or the zip, each listed once.

    Meant for fingerprinting a run's inputs; raises ``MissingInputError`` like ``read_raw``.
    """
    paths = (find_raw(input_dir, name).path for name in names)
    return list(dict.fromkeys(paths))
