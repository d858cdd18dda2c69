"""The baseline: the default experiment as a plain pandas + scikit-learn script, no tracking.

``python bench/plain.py --input DIR --out DIR [--config luigi.toml] [--set Section.key=value]
[--src DIR]``

It does the work the runner's Evaluator + Prediction DAG does, with the same functions of the
``tabular`` package (which import neither luigi nor mlflow) and the same parameters, read from
the same TOML file and ``--set`` overrides (a classification experiment, like the default):
1. check the data and read the columns the features need from train.csv and test.csv;
2. fit the feature pipeline and the classifier on train (Preprocessor + Trainer) and keep the
   fitted model as a pickle;
3. stratified k-fold cross-validation of an unfitted copy, metrics.json, the confusion matrix
   and the ROC curve as PNGs (Evaluator);
4. predict test.csv and write submission.csv (Prediction).
What it leaves out is exactly the runner's overhead: Luigi, MLflow, the parquet files between
tasks, checksummed output folders and signatures. ``metrics.json`` and ``submission.csv`` must
come out identical to the runner's; ``bench/run.py`` checks that.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tomllib
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"


def load_settings(config: Path, overrides: list[str]) -> dict[str, dict[str, Any]]:
    """The TOML sections of ``config`` with ``Section.key=value`` overrides (TOML values)."""
    settings: dict[str, dict[str, Any]] = tomllib.loads(config.read_text())
    for text in overrides:
        target, _, raw = text.partition("=")
        section, _, key = target.strip().rpartition(".")
        try:
            value = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        settings.setdefault(section, {})[key] = value
    return settings


def run(input_dir: Path, out: Path, settings: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Do the whole experiment; write model.pkl, metrics.json, the PNGs and submission.csv."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from tabular import evaluation, plots
    from tabular.dataset import DatasetConfig, read_table, resolve_contract
    from tabular.derived import load_derived
    from tabular.estimators import feature_target, make_estimator
    from tabular.features import FeatureSpec, build_features
    from tabular.predictions import make_predictions, write_predictions

    pre, trainer = settings.get("Preprocessor", {}), settings.get("Trainer", {})
    evaluator = settings.get("Evaluator", {})
    dataset = DatasetConfig(
        input_dir, pre.get("train_file", "train.csv"), pre.get("test_file", "test.csv"),
        pre.get("target", ""), pre.get("id_column", ""), pre.get("problem", "auto"),
        tuple(pre.get("train_columns", ())), tuple(pre.get("test_columns", ())))
    derived = load_derived(pre.get("derived_features", []))
    contract = resolve_contract(dataset, [name for f in derived for name in f.needs])
    spec = FeatureSpec(
        columns=contract.features, derived=derived,
        numeric=tuple(pre.get("numeric_columns", ())),
        categorical=tuple(pre.get("categorical_columns", ())),
        numeric_impute=pre.get("numeric_impute", "median"),
        categorical_impute=pre.get("categorical_impute", "most_frequent"),
        scale_numeric=pre.get("scale_numeric", False))
    ids = [contract.id_column] if contract.id_column else []
    train = read_table(dataset.source("train"), [contract.target, *spec.required_raw_columns()])
    test = read_table(dataset.source("test"), [*ids, *spec.required_raw_columns()])
    X, y = feature_target(train, contract.target)
    estimator = make_estimator(trainer.get("estimator", "sklearn.linear_model.RidgeClassifier"),
                               dict(trainer.get("estimator_params", {})), trainer.get("seed", 0),
                               contract.problem)
    model = Pipeline([("features", build_features(spec)), ("estimator", estimator)]).fit(X, y)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    tasks = settings.get("RunConfig", {}).get("task", ["Evaluator", "Prediction"])
    metrics: dict[str, float] = {}
    if "Evaluator" in tasks:  # the seed's experiment predicts only
        result = evaluation.cross_validate_model(clone(model), X, y, contract.problem,
                                                 evaluator.get("folds", 5),
                                                 evaluator.get("seed", 0))
        metrics = result.metrics
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        plots.confusion_matrix(y, result.oof_predictions, contract.classes,
                               out / "confusion_matrix.png")
        if result.oof_scores is not None:
            plots.roc_curve(y, result.oof_scores, contract.classes[1], out / "roc_curve.png")
    table = make_predictions(test[contract.id_column] if ids else None, model.predict(test),
                             contract.id_column, contract.target)
    write_predictions(table, out / "submission.csv")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the default experiment without the runner")
    parser.add_argument("--input", type=Path, required=True, help="folder with the csv files")
    parser.add_argument("--out", type=Path, required=True, help="folder for the outputs")
    parser.add_argument("--config", type=Path, default=SRC.parent / "luigi.toml")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="Section.key=VALUE")
    parser.add_argument("--src", type=Path, default=SRC, help="where the tabular package is")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.src))
    metrics = run(args.input, args.out, load_settings(args.config, args.overrides))
    print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
