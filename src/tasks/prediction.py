"""Prediction: the Kaggle submission, ``PassengerId,Survived``, one row per test passenger."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from framework.run_task import RunTask
from tasks.preprocessor import Preprocessor
from tasks.trainer import Trainer
from titanic import data
from titanic.submission import make_submission, write_submission


class Prediction(RunTask):
    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor), "model": self.upstream(Trainer)}

    def produce(self, out: Path) -> None:
        import mlflow.sklearn

        test = pd.read_parquet(self.input()["features"].file("test.parquet"))
        model = mlflow.sklearn.load_model(str(self.input()["model"].file("model")))
        write_submission(make_submission(test[data.ID_COLUMN], model.predict(test)),
                         out / "submission.csv")
