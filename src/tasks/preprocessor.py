"""Preprocessor: read the raw tables, settle the data contract, fit the feature pipeline.

The data contract (files, target, id, problem) lives here, in the task that reads the raw
files; downstream tasks learn it from this task's output (``contract.json``), so it enters
their signatures through this one.

Outputs: ``train.parquet``/``test.parquet`` (the kept raw columns), ``features.pkl`` (the
feature pipeline fitted on train only), ``train_features.parquet``/``test_features.parquet``
(what it makes of each table) and ``contract.json``.
"""

from __future__ import annotations

import pickle
from functools import cached_property, partial
from pathlib import Path

import luigi

from framework.core.errors import reported_as_user_error
from framework.store.datasets import RawTable
from framework.task.run_task import RunTask
from tabular.contract import DataContract
from tabular.dataset import PROBLEM_CHOICES, DatasetConfig, read_table, resolve_contract
from tabular.derived import DerivedFeature, load_derived
from tabular.features import (
    CATEGORICAL_IMPUTE_STRATEGIES,
    NUMERIC_IMPUTE_STRATEGIES,
    FeatureSpec,
    build_features,
    check_numeric,
)

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
        default=2048, description="refuse zip members that expand to more than this")

    @cached_property
    def dataset(self) -> DatasetConfig:
        return DatasetConfig(
            self.input_dir(), self.train_file, self.test_file, self.target, self.id_column,
            self.problem, tuple(self.train_columns), tuple(self.test_columns), self.encoding,
            self.max_member_mb)

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
    def feature_spec(self) -> FeatureSpec:
        with reported_as_user_error("Preprocessor"):
            return FeatureSpec(
                columns=self.contract.features, derived=self.derived,
                numeric=tuple(self.numeric_columns), categorical=tuple(self.categorical_columns),
                numeric_impute=self.numeric_impute, categorical_impute=self.categorical_impute,
                scale_numeric=self.scale_numeric)

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
        spec = self.feature_spec
        with reported_as_user_error("Preprocessor"):
            raw_numeric = tuple(name for name in spec.numeric if name in spec.columns)
            train = self.dataset.source("train")
            check_numeric(read_table(train, raw_numeric), raw_numeric)

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
        (out / CONTRACT_FILE).write_text(self.contract.to_json())
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
