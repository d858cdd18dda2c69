"""Preprocessor: read the raw tables, settle the data contract, fit the feature pipeline.

The data contract (files, target, id, problem) lives here, in the task that reads the raw
files; downstream tasks learn it from this task's output (``contract.json``), so it enters
their signatures through this one.

Outputs: ``train.parquet``/``test.parquet`` (the kept raw columns), ``features.pkl`` (the
feature pipeline fitted on train only), ``train_features.parquet``/``test_features.parquet``
(what it makes of each table) and ``contract.json`` (with the column decisions of
``tabular.screening``, which the plan prints before the run).
"""

from __future__ import annotations

import codecs
import pickle
from dataclasses import replace
from functools import cached_property, partial
from pathlib import Path

import luigi
import pandas as pd

from framework.core.errors import UserError, reported_as_user_error
from framework.store.datasets import RawTable
from framework.task.run_task import RunTask
from tabular.contract import DataContract
from tabular.dataset import PROBLEM_CHOICES, DatasetConfig, read_table, resolve_contract
from tabular.derived import DerivedFeature, load_derived
from tabular.features import (
    CATEGORICAL_IMPUTE_STRATEGIES,
    DEFAULT_MAX_CATEGORIES,
    NUMERIC_IMPUTE_STRATEGIES,
    FeatureSpec,
    build_features,
    check_numeric,
)
from tabular.screening import (
    DEFAULT_ID_SHARE,
    Screening,
    ScreeningSettings,
    check_finite,
    screen,
)
from tabular.zip_limits import DEFAULT_MAX_MEMBER_MB, DEFAULT_MAX_RATIO

CONTRACT_FILE = "contract.json"


class Preprocessor(RunTask):
    required_files = ("contract.json", "train.parquet", "features.pkl", "train_features.parquet")
    train_file = luigi.Parameter(
        default="train.csv", description="the training table in PathConfig.input: csv or "
        "parquet; 'archive.zip:member.csv' reads a zip member")
    test_file = luigi.Parameter(
        default="test.csv", description="the table to predict, like train_file; '' for none")
    target = luigi.Parameter(
        default="", description="the column to predict ('' = the one train column the test "
        "table lacks)")
    id_column = luigi.Parameter(
        default="", description="the id column of the test table, kept in the predictions "
        "('' = none: predictions follow the row order)")
    problem = luigi.ChoiceParameter(
        default="auto", choices=PROBLEM_CHOICES,
        description="binary, multiclass or regression ('auto' = inferred from the target)")
    train_columns = luigi.ListParameter(
        default=(), description="raw columns of the train table to keep (default: all); "
        "target and id are kept anyway and are never features")
    test_columns = luigi.ListParameter(
        default=(), description="raw columns of the test table to keep (default: the same "
        "features as train)")
    numeric_columns = luigi.ListParameter(
        default=(), description="features to treat as numeric (default: by dtype)")
    categorical_columns = luigi.ListParameter(
        default=(), description="features to one-hot encode (default: non-numeric dtypes)")
    numeric_impute = luigi.ChoiceParameter(
        default="median", choices=NUMERIC_IMPUTE_STRATEGIES,
        description="how missing numbers are filled")
    categorical_impute = luigi.ChoiceParameter(
        default="most_frequent", choices=CATEGORICAL_IMPUTE_STRATEGIES,
        description="how missing categories are filled")
    scale_numeric = luigi.BoolParameter(default=False, description="standardise numeric features")
    derived_features = luigi.ListParameter(
        default=(), description="import paths of @derived_feature functions in src/, e.g. "
        "'titanic.features.title'")
    encoding = luigi.Parameter(default="utf-8", description="text encoding of csv tables")
    max_member_mb = luigi.IntParameter(
        default=DEFAULT_MAX_MEMBER_MB,
        description="refuse zip members that expand to more than this many MB")
    max_zip_ratio = luigi.IntParameter(
        default=DEFAULT_MAX_RATIO, description="refuse zip members that expand more than this "
        "many times their compressed size (checked above 16 MB expanded)")
    detect_columns = luigi.BoolParameter(
        default=True,
        description="screen the raw features before the run: drop id-like and constant "
        "columns, turn dates stored as text into date features (false: use them as they are)")
    keep_columns = luigi.ListParameter(
        default=(), description="raw features to use exactly as they are, whatever screening "
        "finds")
    id_like_share = luigi.FloatParameter(
        default=DEFAULT_ID_SHARE, description="a text column with at least this share of "
        "distinct values is id-like (dropped)")
    max_categories = luigi.IntParameter(
        default=DEFAULT_MAX_CATEGORIES, description="one-hot columns per categorical feature "
        "at most (its most frequent levels plus one for the rest); 0 = no bound")
    min_frequency = luigi.IntParameter(
        default=0, description="levels seen in fewer training rows than this share the "
        "one-hot column for rare levels (0 = off)")

    @cached_property
    def dataset(self) -> DatasetConfig:
        return DatasetConfig(
            self.input_dir(), self.train_file, self.test_file, self.target, self.id_column,
            self.problem, tuple(self.train_columns), tuple(self.test_columns), self.encoding,
            self.max_member_mb, self.max_zip_ratio)

    @cached_property
    def derived(self) -> tuple[DerivedFeature, ...]:
        """The derived features the config names (project code only)."""
        with reported_as_user_error("Preprocessor"):
            return load_derived(list(self.derived_features))

    @cached_property
    def contract(self) -> DataContract:
        """The data contract, read from the raw tables (a ``UserError`` if they cannot serve)."""
        needs = tuple(name for feature in self.derived for name in feature.needs)
        with reported_as_user_error("Preprocessor"):
            return resolve_contract(self.dataset, needs)

    @cached_property
    def raw_features(self) -> pd.DataFrame:
        """The train table's raw feature columns (read once, for the checks before the run)."""
        with reported_as_user_error("Preprocessor"):
            return read_table(self.dataset.source("train"), self.contract.features)

    @cached_property
    def screening(self) -> Screening:
        """What the raw features are fit for (``tabular.screening``), decided on train."""
        settings = ScreeningSettings(
            self.detect_columns, tuple(self.keep_columns), tuple(self.train_columns),
            tuple(self.numeric_columns), tuple(self.categorical_columns), self.max_categories,
            self.id_like_share)
        with reported_as_user_error("Preprocessor"):
            return screen(self.raw_features, self.contract.features, settings)

    @cached_property
    def feature_spec(self) -> FeatureSpec:
        with reported_as_user_error("Preprocessor"):
            return FeatureSpec(
                columns=self.screening.kept, derived=self.derived,
                numeric=tuple(self.numeric_columns), categorical=tuple(self.categorical_columns),
                numeric_impute=self.numeric_impute, categorical_impute=self.categorical_impute,
                scale_numeric=self.scale_numeric, dates=self.screening.dates,
                max_categories=self.max_categories, min_frequency=self.min_frequency)

    def plan_notes(self) -> list[str]:
        """The column decisions, one line each, under this task in the plan."""
        return [decision.line() for decision in self.screening.decisions]

    def raw_inputs(self) -> list[Path]:
        with reported_as_user_error("Preprocessor"):
            return list(dict.fromkeys(source.path for source in self.dataset.sources()))

    def code_modules(self) -> list[str]:
        """Derived features are the user's code in src/: their modules count too."""
        paths: list[str] = list(self.derived_features)
        derived = [path.rpartition(".")[0] for path in paths]
        return [*super().code_modules(), *derived]

    def run_tags(self) -> dict[str, str]:
        return {"problem": self.contract.problem, "target": self.contract.target}

    def datasets(self) -> list[RawTable]:
        """The raw tables, as the run's MLflow datasets (train: training, test: test)."""
        from tabular.sources import read

        contract = self.contract
        return [RawTable(source.name, source.describe(), partial(read, source),
                         context="training" if split == "train" else "test",
                         targets=contract.target if split == "train" else None,
                         version=file_version(source.path))
                for split, source in zip(("train", "test"), self.dataset.sources(), strict=False)]

    def check(self) -> None:
        try:  # first: every other check reads the tables in this encoding
            text = codecs.getincrementaldecoder(self.encoding)().decode(b"", final=True)
        except (LookupError, TypeError):  # TypeError: a str-to-str codec (rot13)
            text = None
        if not isinstance(text, str):  # an unknown name, or a codec that is not text (base64)
            raise UserError(f"Preprocessor.encoding = {self.encoding!r} is not a text "
                            'encoding Python knows; use e.g. "utf-8" or "latin-1"')
        spec = self.feature_spec
        with reported_as_user_error("Preprocessor"):
            raw_numeric = tuple(name for name in spec.numeric if name in spec.columns)
            check_numeric(self.raw_features, raw_numeric)
            numbers = self.numeric_features(self.raw_features)
            check_finite(self.raw_features, numbers, self.dataset.source("train").describe())
            if self.contract.has_test and numbers:
                test = self.dataset.source("test")
                check_finite(read_table(test, numbers), numbers, test.describe())

    def numeric_features(self, table: pd.DataFrame) -> list[str]:
        """Kept raw features encoded as numbers: forced numeric, or of a numeric dtype (not
        boolean) and not forced categorical; date columns excluded."""
        def numeric(name: str) -> bool:
            dtype = table[name].dtype
            return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)

        dates = dict(self.screening.dates)
        return [name for name in self.feature_spec.columns if name not in dates and (
            name in self.numeric_columns
            or (name not in self.categorical_columns and numeric(name)))]

    def columns_to_read(self, split: str) -> list[str]:
        contract, spec = self.contract, self.feature_spec
        keys = [contract.target] if split == "train" else []
        if contract.id_column and (split == "test" or contract.id_column in
                                   self.dataset_columns("train")):
            keys.insert(0, contract.id_column)
        return list(dict.fromkeys([*keys, *spec.required_raw_columns()]))

    def dataset_columns(self, split: str) -> tuple[str, ...]:
        from tabular.sources import columns_of

        return columns_of(self.dataset.source(split))

    def produce(self, out: Path) -> None:
        made = replace(self.contract, features=self.screening.kept,
                       column_decisions=self.screening.decisions)
        (out / CONTRACT_FILE).write_text(made.to_json())
        train = read_table(self.dataset.source("train"), self.columns_to_read("train"))
        train.to_parquet(out / "train.parquet", index=False)
        pipeline = build_features(self.feature_spec)
        pipeline.fit_transform(train).to_parquet(out / "train_features.parquet")
        with (out / "features.pkl").open("wb") as handle:
            pickle.dump(pipeline, handle)
        if self.contract.has_test:
            test = read_table(self.dataset.source("test"), self.columns_to_read("test"))
            test.to_parquet(out / "test.parquet", index=False)
            pipeline.transform(test).to_parquet(out / "test_features.parquet")


def read_contract(output_folder: Path) -> DataContract:
    """The contract a finished Preprocessor wrote into ``output_folder``."""
    return DataContract.read(output_folder / CONTRACT_FILE)


def file_version(path: Path) -> str:
    """Size and modification time: a new version of the file is a new dataset entry."""
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"
