"""Write the example datasets from data scikit-learn ships (no download): ``python
examples/make_data.py``. The files it makes are committed; rerun it only to change them.

- iris:     multiclass, string labels (setosa/versicolor/virginica), csv with an id column;
- cancer:   binary, string labels (malignant/benign), parquet, no id column;
- diabetes: regression, csv tables inside a zip archive, custom file names.
Each dataset is split 80/20 into a train table and a test table without the target.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent / "data"
SEED = 0


def split(frame: pd.DataFrame, target: str, stratify: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = train_test_split(frame, test_size=0.2, random_state=SEED,
                                   stratify=frame[target] if stratify else None)
    return train, test.drop(columns=[target])


def iris() -> None:
    loaded = datasets.load_iris(as_frame=True)
    frame = loaded.frame.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = loaded.target_names[loaded.target]
    frame = frame.drop(columns=["target"])
    frame.insert(0, "flower_id", range(1, len(frame) + 1))
    train, test = split(frame, "species", stratify=True)
    out = HERE / "iris"
    out.mkdir(parents=True, exist_ok=True)
    train.to_csv(out / "train.csv", index=False)
    test.to_csv(out / "test.csv", index=False)


def cancer() -> None:
    loaded = datasets.load_breast_cancer(as_frame=True)
    frame = loaded.frame.rename(columns=lambda name: name.replace(" ", "_"))
    frame["diagnosis"] = loaded.target_names[loaded.target]
    frame = frame.drop(columns=["target"])
    train, test = split(frame, "diagnosis", stratify=True)
    out = HERE / "cancer"
    out.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out / "patients.parquet", index=False)
    test.to_parquet(out / "new_patients.parquet", index=False)


def diabetes() -> None:
    frame = datasets.load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    frame.insert(0, "patient", [f"p{i:03d}" for i in range(len(frame))])
    train, test = split(frame, "progression", stratify=False)
    out = HERE / "diabetes"
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out / "diabetes.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tables/fit.csv", train.to_csv(index=False))
        archive.writestr("tables/score.csv", test.to_csv(index=False))


if __name__ == "__main__":
    iris()
    cancer()
    diabetes()
