"""Where a raw table lives and how it is read: csv or parquet, a plain file or a zip member.

A table is named relative to the input folder: ``train.csv``, ``data/x.parquet`` or
``archive.zip:member.csv``. A plain name missing from the folder is also looked for inside the
folder's zip archives (Kaggle's ``titanic.zip`` download works as it is). Members are checked
against a size and a compression-ratio limit before anything is extracted and while they
stream (``tabular.zip_limits``), and read fully (so their CRC is checked) when the data is
checked, before any run exists.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import pandas as pd

from tabular.zip_limits import DEFAULT_MAX_MEMBER_MB, DEFAULT_MAX_RATIO, ZipLimitError, open_member

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
ZIP_SEPARATOR = ":"


class InputError(ValueError):
    """A raw table cannot be found or read; the message names the file and the fix."""


@dataclass(frozen=True)
class Source:
    """One raw table: ``path`` on disk, and ``member`` when it sits inside a zip archive."""

    path: Path
    member: str | None = None
    encoding: str = "utf-8"
    max_member_mb: int = DEFAULT_MAX_MEMBER_MB
    max_ratio: int = DEFAULT_MAX_RATIO

    @property
    def name(self) -> str:
        """The table's own file name (the member's, for a zip)."""
        return Path(self.member).name if self.member else self.path.name

    def describe(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def is_parquet(self) -> bool:
        return Path(self.name).suffix.lower() in PARQUET_SUFFIXES


def locate(input_dir: Path, spec: str, *, encoding: str = "utf-8",
           max_member_mb: int = DEFAULT_MAX_MEMBER_MB, max_ratio: int = DEFAULT_MAX_RATIO,
           option: str = "train_file") -> Source:
    """The ``Source`` that ``spec`` names in ``input_dir``; ``InputError`` if there is none."""
    archive, sep, member = spec.partition(ZIP_SEPARATOR)
    limits = (encoding, max_member_mb, max_ratio)
    if sep:
        path = input_dir / archive
        if not path.is_file():
            raise InputError(f"{option} = {spec!r}: no archive {path}; fix the file name")
        return Source(path, _member(path, member, option, exact=True), *limits)
    path = input_dir / spec
    if path.is_file():
        return Source(path, None, *limits)
    for candidate in sorted(input_dir.glob("*.zip")):
        found = _member(candidate, spec, option, exact=False, required=False)
        if found:
            return Source(candidate, found, *limits)
    raise InputError(f"{option} = {spec!r}: {input_dir} has no such file (nor a zip holding "
                     f"it); put it there or fix PathConfig.input / Preprocessor.{option}")


def _member(path: Path, name: str, option: str, *, exact: bool, required: bool = True
            ) -> str | None:
    """The member of archive ``path`` called ``name`` (or, unless ``exact``, ``dir/name``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{path} is not a readable zip archive ({error}); "
                         "download or zip it again") from None
    if name in members:
        return name
    nested = [member for member in members if member.rsplit("/", 1)[-1] == name]
    if not exact and len(nested) == 1:
        return nested[0]
    if required:
        raise InputError(f"{option}: {path} has no member {name!r} (members: "
                         f"{', '.join(members) or 'none'}); fix the name after the ':'")
    return None


def _open_member(source: Source, archive: zipfile.ZipFile) -> IO[bytes]:
    assert source.member is not None
    try:
        return open_member(archive, source.member, source.describe(),
                           max_mb=source.max_member_mb, max_ratio=source.max_ratio)
    except ZipLimitError as error:
        raise InputError(str(error)) from None


def _read(source: Source, stream: IO[bytes] | Path, columns: Sequence[str] | None,
          nrows: int | None) -> pd.DataFrame:
    if source.is_parquet:
        table = pd.read_parquet(stream, columns=list(columns) if columns is not None else None)
        return table if nrows is None else table.head(nrows)
    options: dict[str, Any] = {"encoding": source.encoding, "nrows": nrows}
    if columns is not None:
        options["usecols"] = list(columns)
    if Path(source.name).suffix.lower() == ".tsv":
        options["sep"] = "\t"
    return pd.read_csv(stream, **options)


def read(source: Source, columns: Sequence[str] | None = None, nrows: int | None = None
         ) -> pd.DataFrame:
    """The table (only ``columns``, in that order, when given); ``InputError`` if unreadable."""
    try:
        if source.member is None:
            table = _read(source, source.path, columns, nrows)
        else:
            with zipfile.ZipFile(source.path) as archive, _open_member(source, archive) as raw:
                table = _read(source, raw, columns, nrows)
    except UnicodeDecodeError as error:
        raise InputError(f"{source.describe()} is not {source.encoding} text ({error.reason} at "
                         f"byte {error.start}); set Preprocessor.encoding, e.g. "
                         'encoding = "latin-1"') from None
    except zipfile.BadZipFile as error:
        raise InputError(f"{source.describe()} is damaged ({error}); download or zip it "
                         "again") from None
    except ZipLimitError as error:
        raise InputError(str(error)) from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        if isinstance(error, InputError):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"{source.describe()} cannot be read as "
                         f"{'parquet' if source.is_parquet else 'csv'} ({first}); "
                         "check the file or its name") from None
    return table if columns is None else table[list(columns)]


@cache
def _cached_columns(source: Source, stamp: tuple[int, int]) -> tuple[str, ...]:
    if source.is_parquet and source.member is None:
        import pyarrow
        import pyarrow.parquet as pq

        try:
            return tuple(pq.read_schema(source.path).names)
        except (pyarrow.ArrowException, OSError) as error:
            raise InputError(f"{source.describe()} cannot be read as parquet ({error}); check "
                             "the file or its name") from None
    return tuple(str(column) for column in read(source, nrows=0).columns)


def columns_of(source: Source) -> tuple[str, ...]:
    """The table's column names, reading as little as the format allows (cached per version)."""
    stat = source.path.stat()
    return _cached_columns(source, (stat.st_size, stat.st_mtime_ns))


def check_readable(source: Source) -> None:
    """Read every byte once: a zip member's CRC is checked at its end, and a csv is decoded
    with ``source.encoding`` (pandas decodes only the columns it parses)."""
    import codecs

    decoder = None if source.is_parquet else codecs.getincrementaldecoder(source.encoding)()
    try:
        with _raw_stream(source) as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                if decoder is not None:
                    decoder.decode(block)
            if decoder is not None:
                decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise InputError(f"{source.describe()} is not {source.encoding} text ({error.reason}); "
                         'set Preprocessor.encoding, e.g. encoding = "latin-1"') from None
    except zipfile.BadZipFile as error:
        raise InputError(f"{source.describe()} is damaged ({error}); download or zip it "
                         "again") from None
    except ZipLimitError as error:
        raise InputError(str(error)) from None
    except LookupError:
        raise InputError(f"Preprocessor.encoding = {source.encoding!r} is not a known encoding; "
                         'use e.g. "utf-8" or "latin-1"') from None


@contextmanager
def _raw_stream(source: Source) -> Iterator[IO[bytes]]:
    if source.member is None:
        with source.path.open("rb") as stream:
            yield stream
    else:
        with zipfile.ZipFile(source.path) as archive, _open_member(source, archive) as stream:
            yield stream


@cache
def _cached_column(source: Source, column: str, stamp: tuple[int, int]) -> pd.Series:
    return read(source, [column])[column]


def column_of(source: Source, column: str) -> pd.Series:
    """One whole column (read once per file version: planning asks for it several times)."""
    stat = source.path.stat()
    return _cached_column(source, column, (stat.st_size, stat.st_mtime_ns)).copy()
