"""The data contract of a supervised tabular experiment: target, id, problem kind, features.

Everything here is decided from the raw tables before any run exists, and recorded by the
Preprocessor (``contract.json``) so downstream steps learn it from the Preprocessor's output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

Problem = Literal["binary", "multiclass", "regression"]
PROBLEMS = ("binary", "multiclass", "regression")
# An integer target with more distinct values than this is taken for a quantity, not a class.
MAX_INFERRED_CLASSES = 20


class ContractError(ValueError):
    """The data cannot serve the configured experiment; the message names the fix."""


@dataclass(frozen=True)
class ColumnDecision:
    """What the Preprocessor decided about one raw column it found unfit as a plain feature
    (``tabular.screening``): ``kind`` is what was detected ("id-like", "constant", "date",
    "high-cardinality"), ``action`` what was done ("dropped", "kept", "dates", "bounded"),
    ``detail`` the evidence and ``why`` the reason for a "kept" (e.g. the user listed it) or
    the bound of a "bounded"."""

    column: str
    kind: str
    action: str
    detail: str
    why: str = ""

    def line(self) -> str:
        """The decision as one line of the plan, e.g. ``dropped 'email' (id-like: ...)``."""
        evidence = f"({self.kind}: {self.detail})"
        if self.action == "dropped":
            return f"dropped {self.column!r} {evidence}"
        if self.action == "kept":
            return f"kept {self.column!r} {evidence}: {self.why}"
        if self.action == "dates":
            return (f"turned {self.column!r} into numeric date features (year, month, day, "
                    f"dayofweek, epoch_days) {evidence}")
        return f"bounded {self.column!r} {evidence}: {self.why}"


@dataclass(frozen=True)
class DataContract:
    """What the experiment predicts and from which columns.

    ``classes`` are the sorted label values of a classification target (JSON-safe Python
    values: str, bool, int or float), empty for regression. ``id_column`` is "" when the
    tables have none (predictions then follow the test table's row order). ``features`` are
    the raw feature columns; once the Preprocessor screened them (``column_decisions``), the
    ones it kept.
    """

    target: str
    id_column: str
    problem: Problem
    classes: tuple[Any, ...]
    features: tuple[str, ...]
    has_test: bool
    column_decisions: tuple[ColumnDecision, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> DataContract:
        data = json.loads(path.read_text())
        return cls(data["target"], data["id_column"], data["problem"], tuple(data["classes"]),
                   tuple(data["features"]), data["has_test"],
                   tuple(ColumnDecision(**item) for item in data.get("column_decisions", ())))

    @property
    def is_classification(self) -> bool:
        return self.problem != "regression"


def infer_target(train_columns: Sequence[str], test_columns: Sequence[str] | None) -> str:
    """The one column of the train table that the test table lacks (the Kaggle layout)."""
    if test_columns is None:
        raise ContractError("target is not set and there is no test table to infer it from; "
                            'set Preprocessor.target, e.g. target = "label"')
    only_train = [column for column in train_columns if column not in test_columns]
    if len(only_train) != 1:
        found = ", ".join(only_train) or "none"
        raise ContractError(f"target is not set and cannot be inferred (columns only in the "
                            f"train table: {found}); set Preprocessor.target")
    return only_train[0]


def infer_problem(y: pd.Series) -> Problem:
    """binary/multiclass for booleans, text and few distinct integers; else regression."""
    values = y.dropna()
    distinct = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        integral = bool((values == values.round()).all())
        if not integral or distinct > MAX_INFERRED_CLASSES:
            return "regression"
    return "binary" if distinct <= 2 else "multiclass"


def label_values(y: pd.Series) -> tuple[Any, ...]:
    """The sorted distinct labels as plain Python values (numpy scalars do not serialise)."""
    return tuple(sorted(pd.unique(y.dropna()).tolist(), key=lambda value: (str(type(value)),
                                                                          value)))


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages read ``1``, not ``np.int64(1)``."""
    return value.item() if hasattr(value, "item") else value


def check_target(y: pd.Series, target: str, problem: Problem) -> tuple[Any, ...]:
    """Check the training target for ``problem``; return its classes (empty for regression)."""
    missing = int(y.isna().sum())
    if missing:
        raise ContractError(f"target {target!r} is missing in {missing} training row(s); drop "
                            "those rows or fill them in the data")
    if problem == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise ContractError(f"target {target!r} is not numeric, so it cannot be regressed; "
                                'set Preprocessor.problem = "binary" or "multiclass"')
        return ()
    classes = label_values(y)
    if not classes:
        raise ContractError(f"target {target!r} has no values: the train table has no rows; "
                            "add the data")
    if len(classes) < 2:
        raise ContractError(f"target {target!r} has a single class ({plain(classes[0])!r}); a "
                            "classifier needs at least two")
    if problem == "binary" and len(classes) > 2:
        raise ContractError(f"target {target!r} has {len(classes)} classes, not 2; set "
                            'Preprocessor.problem = "multiclass" (or "auto")')
    return classes


def check_ids(ids: pd.Series, id_column: str, table: str) -> None:
    """Ids of the test table must be present and unique: they key the predictions."""
    if ids.isna().any():
        raise ContractError(f"id column {id_column!r} is missing in {int(ids.isna().sum())} "
                            f"row(s) of {table}; fill them or set Preprocessor.id_column = \"\"")
    if ids.duplicated().any():
        raise ContractError(f"id column {id_column!r} has duplicate values in {table} (e.g. "
                            f"{plain(ids[ids.duplicated()].iloc[0])!r}); ids must be unique")


def check_smallest_class(y: pd.Series, folds: int) -> None:
    """Stratified k-fold needs every class in every fold."""
    counts = y.value_counts()
    if int(counts.min()) < folds:
        raise ContractError(f"class {plain(counts.idxmin())!r} has {int(counts.min())} "
                            f"training rows, fewer than Evaluator.folds = {folds}; set folds <= "
                            f"{int(counts.min())} or add data")
