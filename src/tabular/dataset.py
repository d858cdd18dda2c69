"""A dataset as a config describes it, and every check that can fail on its raw tables.

``DatasetConfig`` is what ``[Preprocessor]`` says about the data (files, target, id, problem,
columns); ``resolve_contract`` reads just enough of the raw tables to decide the
``DataContract`` and raises a one-line ``ValueError`` subclass for anything that would
otherwise fail later: a missing file or column, an unreadable file, a bad target, bad ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tabular import contract as c
from tabular.contract import ContractError, DataContract
from tabular.sources import Source, check_readable, column_of, columns_of, locate
from tabular.zip_limits import DEFAULT_MAX_MEMBER_MB, DEFAULT_MAX_RATIO

PROBLEM_CHOICES = ("auto", *c.PROBLEMS)


@dataclass(frozen=True)
class DatasetConfig:
    """The data part of the config. Empty strings and tuples mean "infer" / "all" / "none":
    ``target`` "" is inferred (the one train column the test table lacks), ``id_column`` ""
    means there is none, ``train_columns`` () keeps every column, ``test_columns`` () the
    same features as train, ``test_file`` "" means there is no test table."""

    input_dir: Path
    train_file: str = "train.csv"
    test_file: str = "test.csv"
    target: str = ""
    id_column: str = ""
    problem: str = "auto"
    train_columns: tuple[str, ...] = ()
    test_columns: tuple[str, ...] = ()
    encoding: str = "utf-8"
    max_member_mb: int = DEFAULT_MAX_MEMBER_MB
    max_zip_ratio: int = DEFAULT_MAX_RATIO

    def source(self, split: str) -> Source:
        """The train or test table's ``Source``."""
        name = self.train_file if split == "train" else self.test_file
        return locate(self.input_dir, name, encoding=self.encoding,
                      max_member_mb=self.max_member_mb, max_ratio=self.max_zip_ratio,
                      option=f"{split}_file")

    def sources(self) -> list[Source]:
        return [self.source("train"), *([self.source("test")] if self.test_file else [])]


def _check_present(available: Sequence[str], wanted: Sequence[str], where: str) -> None:
    import difflib

    missing = [name for name in dict.fromkeys(wanted) if name not in available]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, list(available), n=1)
            hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
        raise ContractError(f"{where} has no column(s) {', '.join(hints)} (available: "
                            f"{', '.join(available)}); fix the column names in [Preprocessor]")


def _features(config: DatasetConfig, target: str, train_columns: Sequence[str]
              ) -> tuple[str, ...]:
    """Kept raw feature columns: the listed (or all) train columns but target and id."""
    kept = config.train_columns or tuple(train_columns)
    _check_present(train_columns, kept, f"train_columns: {config.train_file}")
    not_features = {target, config.id_column}
    features = tuple(name for name in kept if name not in not_features)
    if config.test_columns:
        if target in config.test_columns:
            raise ContractError(f"test_columns lists the target {target!r}; remove it")
        test_features = [name for name in config.test_columns if name not in not_features]
        if sorted(test_features) != sorted(features):
            only_train = sorted(set(features) - set(test_features)) or ["-"]
            only_test = sorted(set(test_features) - set(features)) or ["-"]
            raise ContractError("train_columns and test_columns disagree on the features "
                                f"(only in train: {', '.join(only_train)}; only in test: "
                                f"{', '.join(only_test)}); list the same features in both")
    return features


def _check_rows(rows: int, source: Source, option: str) -> None:
    if rows == 0:
        raise ContractError(f"{source.describe()} has a header but no rows; add the data, or "
                            f"fix Preprocessor.{option}")


def resolve_contract(config: DatasetConfig, derived_needs: Sequence[str] = ()) -> DataContract:
    """The data contract, after checking the raw tables against ``config``.

    ``derived_needs`` are raw columns the derived features read (both tables must have them).
    Reads every byte of each table once (decoding and zip CRC errors surface here), the
    headers, the train table's target column and the test table's id column.
    """
    train = config.source("train")
    train_columns = columns_of(train)
    test = config.source("test") if config.test_file else None
    test_columns = columns_of(test) if test else None
    for source in (train, test):
        if source is not None:
            check_readable(source)
    target = config.target or c.infer_target(train_columns, test_columns)
    _check_present(train_columns, [target], f"the train table {train.describe()}")
    features = _features(config, target, train_columns)
    _check_present(train_columns, derived_needs, f"the train table {train.describe()}")
    y = column_of(train, target)
    _check_rows(len(y), train, "train_file")
    problem = c.infer_problem(y) if config.problem == "auto" else config.problem
    if problem not in c.PROBLEMS:
        raise ContractError(f"problem {problem!r} is unknown; use one of "
                            f"{', '.join(PROBLEM_CHOICES)}")
    classes = c.check_target(y, target, problem)  # type: ignore[arg-type]
    if test is not None and test_columns is not None:
        needed = [*features, *derived_needs, *([config.id_column] if config.id_column else [])]
        _check_present(test_columns, needed, f"the test table {test.describe()}")
        _check_rows(len(column_of(test, test_columns[0])), test, "test_file")
        if config.id_column:
            c.check_ids(column_of(test, config.id_column), config.id_column, test.describe())
    return DataContract(target, config.id_column, problem, classes,  # type: ignore[arg-type]
                        features, test is not None)


def read_table(source: Source, columns: Sequence[str]) -> pd.DataFrame:
    """The raw table with just ``columns`` (each once, in that order)."""
    from tabular.sources import read

    return read(source, list(dict.fromkeys(columns)))
