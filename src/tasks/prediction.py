"""Prediction: the trained model applied to the test table, ``submission.csv``.

One row per test row: ``<id_column>,<target>`` with the original label values, or only
``<target>`` in the test table's row order when the data has no id column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from framework.core.errors import UserError
from framework.task.run_task import RunTask
from tabular.predictions import make_predictions, write_predictions
from tasks.preprocessor import Preprocessor, read_contract
from tasks.trainer import Trainer

SUBMISSION_FILE = "submission.csv"


class Prediction(RunTask):
    required_files = ("submission.csv",)
    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor), "model": self.upstream(Trainer)}

    def check(self) -> None:
        if not self.upstream(Preprocessor).contract.has_test:
            raise UserError("Prediction needs a test table, but Preprocessor.test_file is "
                            '""; name one, or run Evaluator only (RunConfig.task)')

    def produce(self, out: Path) -> None:
        import mlflow.sklearn

        features = self.input()["features"]
        contract = read_contract(features.path)
        test = pd.read_parquet(features.file("test.parquet"))
        model = mlflow.sklearn.load_model(str(self.input()["model"].file("model")))
        ids = test[contract.id_column] if contract.id_column else None
        table = make_predictions(ids, model.predict(test), contract.id_column, contract.target)
        write_predictions(table, out / SUBMISSION_FILE)
