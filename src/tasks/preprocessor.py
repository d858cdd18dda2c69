"""Preprocessor: keep the configured columns of the raw data and fit the feature pipeline.

Outputs: ``train.parquet``/``test.parquet`` (the kept raw columns), ``features.pkl`` (the
feature pipeline fitted on train only) and ``train_features.parquet``/``test_features.parquet``
(what it makes of each table, for inspection and for the Trainer).
"""

from __future__ import annotations

import pickle
from functools import partial
from pathlib import Path

import luigi

from framework.datasets import RawTable
from framework.errors import reported_as_user_error
from framework.run_task import RunTask
from titanic import data, features

DEFAULT_FEATURES = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked")


class Preprocessor(RunTask):
    train_columns = luigi.ListParameter(
        default=(data.ID_COLUMN, data.TARGET_COLUMN, *DEFAULT_FEATURES),
        description="columns of train.csv to keep (PassengerId and Survived are not features)")
    test_columns = luigi.ListParameter(
        default=(data.ID_COLUMN, *DEFAULT_FEATURES),
        description="columns of test.csv to keep; the same features as train_columns")
    numeric_columns = luigi.ListParameter(
        default=(), description="features to treat as numeric (default: by dtype)")
    categorical_columns = luigi.ListParameter(
        default=(), description="features to one-hot encode (default: non-numeric dtypes)")
    numeric_impute = luigi.ChoiceParameter(
        default="median", choices=["median", "mean", "most_frequent"],
        description="how missing numbers are filled")
    categorical_impute = luigi.ChoiceParameter(
        default="most_frequent", choices=["most_frequent", "constant"],
        description="how missing categories are filled")
    scale_numeric = luigi.BoolParameter(
        default=False, description="standardise numeric features")
    add_title = luigi.BoolParameter(
        default=False, description="add Title (Mr, Mrs, Miss, Master, Rare) from Name")
    add_family_size = luigi.BoolParameter(
        default=False, description="add FamilySize = SibSp + Parch + 1 and IsAlone")

    def feature_spec(self) -> features.FeatureSpec:
        with reported_as_user_error("Preprocessor"):
            return features.spec_from_columns(
                list(self.train_columns), list(self.test_columns),
                numeric=tuple(self.numeric_columns),
                categorical=tuple(self.categorical_columns),
                numeric_impute=self.numeric_impute,
                categorical_impute=self.categorical_impute,
                scale_numeric=self.scale_numeric,
                title=self.add_title,
                family_size=self.add_family_size,
            )

    def raw_columns(self, split: str) -> list[str]:
        """Raw columns read from ``split``: the configured ones plus what features need."""
        kept = list(self.train_columns if split == data.TRAIN_FILE else self.test_columns)
        needed = features.required_raw_columns(self.feature_spec())
        return kept + sorted(needed - set(kept))

    def raw_inputs(self) -> list[Path]:
        with reported_as_user_error("Preprocessor"):
            return data.input_files(self.input_dir())

    def datasets(self) -> list[RawTable]:
        """Framework opt-in: the raw tables, as the run's MLflow datasets."""
        return [RawTable(split, data.find_raw(self.input_dir(), split).describe(),
                         partial(data.read_raw, self.input_dir(), split),
                         context="training" if split == data.TRAIN_FILE else "test",
                         targets=data.TARGET_COLUMN if split == data.TRAIN_FILE else None)
                for split in data.RAW_FILES]

    def check(self) -> None:
        with reported_as_user_error("Preprocessor"):
            for split in data.RAW_FILES:
                data.check_columns(data.raw_columns(self.input_dir(), split),
                                   self.raw_columns(split),
                                   where=f"{split} in {self.input_dir()}")

    def produce(self, out: Path) -> None:
        train = data.read_raw(self.input_dir(), data.TRAIN_FILE, self.raw_columns(data.TRAIN_FILE))
        test = data.read_raw(self.input_dir(), data.TEST_FILE, self.raw_columns(data.TEST_FILE))
        pipeline = features.build_features(self.feature_spec()).fit(train)
        train.to_parquet(out / "train.parquet", index=False)
        test.to_parquet(out / "test.parquet", index=False)
        with (out / "features.pkl").open("wb") as handle:
            pickle.dump(pipeline, handle)
        for name, table in (("train", train), ("test", test)):
            pipeline.transform(table).to_parquet(out / f"{name}_features.parquet")
