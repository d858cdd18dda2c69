"""Trainer: fit the configured estimator and save it, with the feature pipeline, as one MLflow
model that predicts the original label values straight from raw rows."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import luigi
import pandas as pd

import tabular
from framework.core.errors import reported_as_user_error
from framework.store.tracking import sklearn_autolog
from framework.task.context import current_run
from framework.task.run_task import RunTask
from tabular.estimators import PROJECT_SRC, feature_target, make_estimator
from tabular.pickling import intern_attribute_names
from tasks.preprocessor import Preprocessor, read_contract

INPUT_EXAMPLE_ROWS = 5


class Trainer(RunTask):
    required_files = ("model",)
    # Framework opt-in: out/model is an MLflow model; it becomes a logged model of the run.
    model_folder = "model"

    estimator = luigi.Parameter(
        default="sklearn.linear_model.RidgeClassifier",
        description="import path of a scikit-learn classifier (or regressor, for regression)")
    estimator_params: luigi.DictParameter[dict[str, Any]] = luigi.DictParameter(
        default={}, description="keyword arguments of the estimator, e.g. {max_depth = 5}")
    seed = luigi.IntParameter(default=0, description="random_state of the estimator")
    autolog = luigi.BoolParameter(
        default=False, description="also run mlflow.sklearn.autolog (adds seconds per fit)")

    def requires(self) -> dict[str, RunTask]:
        return {"features": self.upstream(Preprocessor)}

    def make_estimator(self) -> Any:
        problem = self.upstream(Preprocessor).contract.problem
        with reported_as_user_error("Trainer"):
            return make_estimator(self.estimator, dict(self.estimator_params), self.seed, problem)

    def check(self) -> None:
        self.make_estimator()

    def model_name(self) -> str:
        """The estimator's class, e.g. ``GradientBoostingClassifier``."""
        return str(self.estimator).rpartition(".")[2]

    def code_modules(self) -> list[str]:
        """The estimator's module too: it may be the user's own code in src/."""
        return [*super().code_modules(), self.estimator.rpartition(".")[0]]

    def produce(self, out: Path) -> None:
        upstream = self.input()["features"]
        contract = read_contract(upstream.path)
        X_raw, y = feature_target(pd.read_parquet(upstream.file("train.parquet")), contract.target)
        X = pd.read_parquet(upstream.file("train_features.parquet"))
        with upstream.file("features.pkl").open("rb") as handle:
            fitted_features = pickle.load(handle)
        estimator = self.fit(X, y)
        from sklearn.pipeline import Pipeline

        model = Pipeline([("features", fitted_features), ("estimator", estimator)])
        save_model(model, X_raw.head(INPUT_EXAMPLE_ROWS), out / "model", self.project_code())

    def project_code(self) -> list[Path]:
        """Project packages the model needs at load time: tabular, the derived features', and
        the estimator's when it is the user's own."""
        modules = [*self.upstream(Preprocessor).derived_features, self.estimator]
        packages = {PROJECT_SRC / path.partition(".")[0] for path in modules}
        return [Path(tabular.__file__).parent,
                *sorted(p for p in packages if p.is_dir() and p.name != "tabular")]

    def fit(self, X: pd.DataFrame, y: pd.Series) -> Any:
        estimator = self.make_estimator()
        if not self.autolog:
            return estimator.fit(X, y)
        with sklearn_autolog(current_run().tracking_uri, self.run_id):
            return estimator.fit(X, y)


def save_model(model: Any, example: pd.DataFrame, path: Path, code: list[Path]) -> None:
    """Save ``model`` as an MLflow model with a signature and an input example.

    Cloudpickle, not MLflow's default skops, because skops refuses project functions.
    Requirements are given explicitly: inferring them costs about 3 s. ``code`` (project
    packages) travels with the model so ``mlflow.pyfunc.load_model`` works anywhere. The same
    model is written as the same bytes whether its feature pipeline was fitted in this process
    or read back from the Preprocessor's output (``reproduce --verify`` compares them).
    """
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(example, model.predict(example))
    intern_attribute_names(model)  # after predict: the last change before it is pickled
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=signature,
        input_example=example,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
                          f"mlflow=={mlflow.__version__}"],
        code_paths=[str(folder) for folder in code],
    )
