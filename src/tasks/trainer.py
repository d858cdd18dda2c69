"""Trainer: fit the configured classifier and save it, with the feature pipeline, as one
MLflow model that predicts straight from raw ``test.csv`` rows."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import luigi
import pandas as pd

import titanic
from framework.context import current_run
from framework.errors import reported_as_user_error
from framework.run_task import RunTask
from framework.tracking import sklearn_autolog
from tasks.preprocessor import Preprocessor
from titanic import model as models

INPUT_EXAMPLE_ROWS = 5


class Trainer(RunTask):
    # Framework opt-in: out/model is an MLflow model; it becomes a logged model of the run.
    model_folder = "model"

    estimator = luigi.Parameter(
        default="sklearn.linear_model.RidgeClassifier",
        description="import path of a scikit-learn classifier")
    estimator_params: luigi.DictParameter[dict[str, Any]] = luigi.DictParameter(
        default={}, description="keyword arguments of the classifier, e.g. {max_depth = 5}")
    seed = luigi.IntParameter(default=0, description="random_state of the classifier")
    autolog = luigi.BoolParameter(
        default=False, description="also run mlflow.sklearn.autolog (adds seconds per fit)")

    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor)}

    def make_estimator(self) -> Any:
        with reported_as_user_error("Trainer"):
            return models.make_estimator(self.estimator, dict(self.estimator_params), self.seed)

    def check(self) -> None:
        with reported_as_user_error("Trainer"):
            models.check_estimator(self.estimator, dict(self.estimator_params), self.seed)

    def code_modules(self) -> list[str]:
        """The estimator's module too: it may be the user's own code in src/."""
        return [*super().code_modules(), self.estimator.rpartition(".")[0]]

    def produce(self, out: Path) -> None:
        upstream = self.input()["features"]
        raw = pd.read_parquet(upstream.file("train.parquet"))
        X_raw, y = models.feature_target(raw)
        X = pd.read_parquet(upstream.file("train_features.parquet"))
        with upstream.file("features.pkl").open("rb") as handle:
            fitted_features = pickle.load(handle)
        classifier = self.fit(X, y)
        from sklearn.pipeline import Pipeline

        model = Pipeline([("features", fitted_features), ("classifier", classifier)])
        save_model(model, X_raw.head(INPUT_EXAMPLE_ROWS), out / "model")

    def fit(self, X: pd.DataFrame, y: pd.Series) -> Any:
        classifier = self.make_estimator()
        if not self.autolog:
            return classifier.fit(X, y)
        with sklearn_autolog(current_run().tracking_uri, self.run_id):
            return classifier.fit(X, y)


def save_model(model: Any, example: pd.DataFrame, path: Path) -> None:
    """Save ``model`` as an MLflow model with a signature and an input example.

    Cloudpickle, not MLflow's default skops, because skops refuses our own feature functions.
    Requirements are given explicitly: inferring them costs about 3 s. The ``titanic``
    package travels with the model so ``mlflow.pyfunc.load_model`` works anywhere.
    """
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(example, model.predict(example))
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=signature,
        input_example=example,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
                          f"mlflow=={mlflow.__version__}"],
        code_paths=[str(Path(titanic.__file__).parent)],
    )
