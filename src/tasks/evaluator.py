"""Evaluator: k-fold cross-validation of the configured model on the training table.

The model is built from its specification (the ``[Trainer]`` settings and the Preprocessor's
features), not from the Trainer's full-data fit: cross-validation needs no trained model, so a
search can cross-validate a trial first and fit the final model only when it completes. Its
metrics still score the Trainer's model, and are linked to it (``framework.experiment.scoring``).
After each fold the running mean of the headline metric is reported
(``RunTask.report_progress``), so an adaptive-search trial can be pruned between folds; in
a trial each fold's scores are also logged, as ``fold_<metric>`` at step = the fold number.

Metrics follow the problem (see ``tabular.evaluation``) and are logged on the run; the
folder holds them (``metrics.json``) with diagnostic plots of the out-of-fold predictions:
a confusion matrix (classification), a ROC curve (binary), predicted vs true (regression).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import luigi
import pandas as pd

from framework.core.errors import UserError, reported_as_user_error
from framework.outputs.folder import OutputFolder
from framework.store import tracking
from framework.task.context import current_run
from framework.task.run_task import RunTask
from tabular import evaluation, plots
from tabular.contract import check_smallest_class
from tabular.estimators import feature_target
from tabular.sources import column_of
from tasks.preprocessor import Preprocessor, read_contract
from tasks.trainer import Trainer

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

METRICS_FILE = "metrics.json"
MIN_FOLDS = 2
FOLD_METRIC_PREFIX = "fold_"  # a trial's per-fold scores: fold_accuracy at step 1, 2, ...
# The Trainer settings that specify the model (``autolog`` only records the fit).
MODEL_SPECIFICATION = ("estimator", "estimator_params", "seed")


class Evaluator(RunTask):
    required_files = ("metrics.json",)
    scores_model_of = "Trainer"
    folds = luigi.IntParameter(default=5, description="number of cross-validation folds")
    seed = luigi.IntParameter(default=0, description="seed of the fold shuffling")

    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor)}

    def borrowed_parameters(self) -> dict[str, str]:
        trainer = self.upstream(Trainer).parameters()
        return {f"Trainer.{name}": trainer[name] for name in MODEL_SPECIFICATION}

    def code_modules(self) -> list[str]:
        """The Trainer's too: its code (and the estimator's module) builds the model."""
        return [*super().code_modules(), *self.upstream(Trainer).code_modules()]

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
        self.upstream(Trainer).check()  # the estimator it will build
        preprocessor = self.upstream(Preprocessor)
        contract = preprocessor.contract
        with reported_as_user_error("Evaluator"):
            y = column_of(preprocessor.dataset.source("train"), contract.target)
            if contract.is_classification:
                check_smallest_class(y, self.folds)
            elif len(y) < self.folds:
                raise ValueError(f"{len(y)} training rows cannot make {self.folds} folds; "
                                 "lower Evaluator.folds")

    def unfitted_model(self, features: OutputFolder) -> Pipeline:
        """The Trainer's pipeline, unfitted: the Preprocessor's feature steps (refitted inside
        every fold) and the estimator the ``[Trainer]`` settings name."""
        from sklearn.base import clone
        from sklearn.pipeline import Pipeline

        with features.file("features.pkl").open("rb") as handle:
            feature_steps = clone(pickle.load(handle))
        return Pipeline([("features", feature_steps),
                         ("estimator", self.upstream(Trainer).make_estimator())])

    def fold_reporter(self, headline: str) -> evaluation.FoldCallback:
        """After each fold: in a trial, log its scores; report the headline's running mean."""
        name = headline.removeprefix("cv_").removesuffix("_mean")
        seen: list[float] = []
        in_trial = current_run().trial is not None

        def on_fold(number: int, scores: dict[str, float]) -> None:
            seen.append(scores[name])
            if in_trial:
                tracking.log_metrics(current_run().tracking_uri, self.run_id,
                                     {FOLD_METRIC_PREFIX + key: value
                                      for key, value in scores.items()}, step=number)
            self.report_progress(number, sum(seen) / len(seen))

        return on_fold

    def produce(self, out: Path) -> None:
        features = self.input()["features"]
        contract = read_contract(features.path)
        X, y = feature_target(pd.read_parquet(features.file("train.parquet")), contract.target)
        result = evaluation.cross_validate_model(
            self.unfitted_model(features), X, y, contract.problem, self.folds, self.seed,
            on_fold=self.fold_reporter(evaluation.first_metric(contract.problem)))
        (out / METRICS_FILE).write_text(json.dumps(result.metrics, indent=2, sort_keys=True))
        if contract.is_classification:
            plots.confusion_matrix(y, result.oof_predictions, contract.classes,
                                   out / "confusion_matrix.png")
        if result.oof_scores is not None:
            plots.roc_curve(y, result.oof_scores, contract.classes[1], out / "roc_curve.png")
        if not contract.is_classification:
            plots.predicted_vs_true(y, result.oof_predictions, out / "predicted_vs_true.png")
        self.log_metrics(result.metrics)
