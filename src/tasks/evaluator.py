"""Evaluator: k-fold cross-validation of the configured model on the training table.

Metrics follow the problem (see ``tabular.evaluation``) and are logged on the run; the
folder holds them (``metrics.json``) with diagnostic plots of the out-of-fold predictions:
a confusion matrix (classification), a ROC curve (binary), predicted vs true (regression).
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi
import pandas as pd

from framework.errors import UserError, reported_as_user_error
from framework.run_task import RunTask
from tabular import evaluation, plots
from tabular.contract import check_smallest_class
from tabular.estimators import feature_target
from tabular.sources import column_of
from tasks.preprocessor import Preprocessor, read_contract
from tasks.trainer import Trainer

METRICS_FILE = "metrics.json"
MIN_FOLDS = 2


class Evaluator(RunTask):
    required_files = ("metrics.json",)
    folds = luigi.IntParameter(default=5, description="number of cross-validation folds")
    seed = luigi.IntParameter(default=0, description="seed of the fold shuffling")

    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor), "model": self.upstream(Trainer)}

    def headline_metric(self) -> tuple[str, str]:
        metric = evaluation.first_metric(self.upstream(Preprocessor).contract.problem)
        lower = metric.removeprefix("cv_").removesuffix("_mean") in evaluation.LOWER_IS_BETTER
        return metric, "minimize" if lower else "maximize"

    def metric_names(self) -> tuple[str, ...]:
        problem = self.upstream(Preprocessor).contract.problem
        return tuple(f"cv_{name}_{kind}" for name in evaluation.METRIC_NAMES[problem]
                     for kind in ("mean", "std"))

    def check(self) -> None:
        if self.folds < MIN_FOLDS:
            raise UserError(f"Evaluator.folds = {self.folds}: cross-validation needs at least "
                            f"{MIN_FOLDS} folds")
        if not 0 <= self.seed < 2**32:
            raise UserError(f"Evaluator.seed = {self.seed}: use an integer in [0, 2**32)")
        preprocessor = self.upstream(Preprocessor)
        contract = preprocessor.contract
        with reported_as_user_error("Evaluator"):
            y = column_of(preprocessor.dataset.source("train"), contract.target)
            if contract.is_classification:
                check_smallest_class(y, self.folds)
            elif len(y) < self.folds:
                raise ValueError(f"{len(y)} training rows cannot make {self.folds} folds; "
                                 "lower Evaluator.folds")

    def produce(self, out: Path) -> None:
        import mlflow.sklearn
        from sklearn.base import clone

        features = self.input()["features"]
        contract = read_contract(features.path)
        X, y = feature_target(pd.read_parquet(features.file("train.parquet")), contract.target)
        # An unfitted copy of the trained pipeline: features are refitted inside every fold.
        model = clone(mlflow.sklearn.load_model(str(self.input()["model"].file("model"))))
        result = evaluation.cross_validate_model(model, X, y, contract.problem, self.folds,
                                                 self.seed)
        (out / METRICS_FILE).write_text(json.dumps(result.metrics, indent=2, sort_keys=True))
        if contract.is_classification:
            plots.confusion_matrix(y, result.oof_predictions, contract.classes,
                                   out / "confusion_matrix.png")
        if result.oof_scores is not None:
            plots.roc_curve(y, result.oof_scores, contract.classes[1], out / "roc_curve.png")
        if not contract.is_classification:
            plots.predicted_vs_true(y, result.oof_predictions, out / "predicted_vs_true.png")
        self.log_metrics(result.metrics)
