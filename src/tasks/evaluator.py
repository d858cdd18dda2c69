"""Evaluator: stratified k-fold cross-validation of the configured model on the training data.

Logs accuracy, F1 and ROC AUC (mean and std over folds) as metrics of the run, and writes
them with a confusion matrix and a ROC curve (out-of-fold predictions) into its folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pandas as pd

from framework.errors import reported_as_user_error
from framework.run_task import RunTask
from tasks.preprocessor import Preprocessor
from tasks.trainer import Trainer
from titanic import data, evaluation
from titanic.model import feature_target

METRICS_FILE = "metrics.json"


class Evaluator(RunTask):
    folds = luigi.IntParameter(default=5, description="number of cross-validation folds")
    seed = luigi.IntParameter(default=0, description="seed of the fold shuffling")

    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor), "model": self.upstream(Trainer)}

    def check(self) -> None:
        with reported_as_user_error("Evaluator"):
            target = data.read_raw(self.input_dir(), data.TRAIN_FILE, [data.TARGET_COLUMN])
            evaluation.check_cv_settings(target[data.TARGET_COLUMN], self.folds, self.seed)

    def produce(self, out: Path) -> None:
        import mlflow.sklearn
        from sklearn.base import clone

        train = pd.read_parquet(self.input()["features"].file("train.parquet"))
        X, y = feature_target(train)
        # An unfitted copy of the trained pipeline: features are refitted inside every fold.
        model = clone(mlflow.sklearn.load_model(str(self.input()["model"].file("model"))))
        result = evaluation.cross_validate_model(model, X, y, self.folds, self.seed)
        (out / METRICS_FILE).write_text(json.dumps(result.metrics, indent=2, sort_keys=True))
        evaluation.plot_confusion_matrix(y, result.oof_predictions, out / "confusion_matrix.png")
        evaluation.plot_roc_curve(y, result.oof_scores, out / "roc_curve.png")
        self.log_metrics(result.metrics)
