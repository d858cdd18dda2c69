"""Screening raw features: id-like, constant, date and high-cardinality columns found on the
train table, the default decisions, the user's overrides, and the pipeline that follows them."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from support.tables import messy_table
from tabular.contract import ColumnDecision, ContractError, DataContract
from tabular.dates import date_format, date_parts
from tabular.features import FeatureSpec, build_features
from tabular.screening import ScreeningSettings, check_finite, screen

FEATURES = ("row", "email", "signup", "plan", "city", "age")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(messy_table().to_csv(index=False)))


def test_defaults_drop_ids_and_constants_parse_dates_and_bound_categories(table):
    found = screen(table, FEATURES, ScreeningSettings(max_categories=20))
    assert found.kept == ("signup", "city", "age")
    assert found.dates == (("signup", "%Y-%m-%d"),)
    lines = [decision.line() for decision in found.decisions]
    assert lines == [
        "dropped 'row' (id-like: integer sequence 1..2,000)",
        "dropped 'email' (id-like: 1,999 distinct of 2,000)",
        "turned 'signup' into numeric date features (year, month, day, dayofweek, epoch_days) "
        "(date: format %Y-%m-%d)",
        "dropped 'plan' (constant: one value 'basic')",
        "bounded 'city' (high-cardinality: 60 categories): one-hot keeps its 19 most frequent "
        "categories, the rest share one column (max_categories = 20)",
    ]


def test_what_the_user_named_is_kept(table):
    listed = screen(table, FEATURES, ScreeningSettings(listed=FEATURES, max_categories=20))
    assert listed.kept == FEATURES, "train_columns are never dropped"
    assert listed.dates == (("signup", "%Y-%m-%d"),), "but a listed date is still parsed"
    assert "kept 'email' (id-like: 1,999 distinct of 2,000): train_columns lists it" in [
        d.line() for d in listed.decisions]
    kept = screen(table, FEATURES, ScreeningSettings(keep=("email", "signup"), max_categories=0))
    assert kept.kept == ("email", "signup", "city", "age")
    assert kept.dates == ()
    assert [d.action for d in kept.decisions] == ["dropped", "kept", "kept", "dropped"]
    typed = screen(table, FEATURES, ScreeningSettings(categorical=("row",)))
    assert typed.decisions[0] == ColumnDecision("row", "id-like", "kept",
                                                "integer sequence 1..2,000",
                                                "categorical_columns lists it")


def test_detection_can_be_turned_off_and_settings_are_checked(table):
    off = screen(table, FEATURES, ScreeningSettings(detect=False, max_categories=20))
    assert (off.kept, off.dates, off.decisions) == (FEATURES, (), ())
    with pytest.raises(ContractError, match="keep_columns names 'emial'"):
        screen(table, FEATURES, ScreeningSettings(keep=("emial",)))
    with pytest.raises(ContractError, match=r"id_like_share = 1\.5"):
        screen(table, FEATURES, ScreeningSettings(id_share=1.5))


def test_small_tables_and_ordinary_columns_are_left_alone():
    small = pd.DataFrame({"id": range(12), "name": [f"n{i}" for i in range(12)],
                          "x": [0.5 * i for i in range(12)], "flag": [True, False] * 6})
    assert screen(small, ("id", "name", "x", "flag"), ScreeningSettings()).decisions == ()


def test_dates_become_numbers_read_with_the_train_format():
    values = pd.Series(["2024-02-29", "1970-01-02", None, "not a date"], name="when")
    assert date_format(values.iloc[:2]) == "%Y-%m-%d"
    assert date_format(values) is None, "under 95% parse"
    parts = date_parts(values, "%Y-%m-%d")
    assert list(parts.columns) == ["when_year", "when_month", "when_day", "when_dayofweek",
                                   "when_epoch_days"]
    assert parts.iloc[0].tolist() == [2024, 2, 29, 3, 19782]
    assert parts.iloc[1]["when_epoch_days"] == 1
    assert parts.iloc[2:].isna().all().all()
    typed = pd.DataFrame({"t": pd.to_datetime(["2024-02-29", "2024-03-01"] * 30), "x": 1.0})
    found = screen(typed, ("t", "x"), ScreeningSettings())
    assert (found.dates, found.decisions[0].line()) == ((("t", ""),), (
        "turned 't' into numeric date features (year, month, day, dayofweek, epoch_days) "
        "(date: datetime values)"))
    assert date_parts(typed["t"], "").iloc[1].tolist() == [2024, 3, 1, 4, 19783]
    zoned = date_parts(pd.Series(["2024-01-01T23:00:00-02:00"], name="t"),
                       "%Y-%m-%dT%H:%M:%S%z")
    assert zoned.iloc[0][["t_year", "t_day"]].tolist() == [2024, 2]


def test_the_pipeline_follows_the_screening(table):
    found = screen(table, FEATURES, ScreeningSettings(max_categories=20))
    spec = FeatureSpec(columns=found.kept, dates=found.dates, max_categories=20)
    train, test = table.iloc[:1600], table.iloc[1600:]
    pipeline = build_features(spec)
    encoded = pipeline.fit_transform(train)
    assert "email" not in " ".join(encoded.columns)
    assert sum(name.startswith("city_") for name in encoded.columns) == 20
    assert encoded.shape[1] == 1 + 5 + 20  # age, the date features, the bounded city
    assert encoded.notna().all().all()
    assert list(pipeline.transform(test).columns) == list(encoded.columns)
    unbounded = build_features(FeatureSpec(columns=found.kept, dates=found.dates,
                                           max_categories=0)).fit_transform(train)
    assert sum(name.startswith("city_") for name in unbounded.columns) == 60


def test_contract_json_records_the_decisions(tmp_path, table):
    found = screen(table, FEATURES, ScreeningSettings(max_categories=20))
    contract = DataContract("label", "", "binary", ("no", "yes"), found.kept, True,
                            found.decisions)
    (tmp_path / "contract.json").write_text(contract.to_json())
    assert DataContract.read(tmp_path / "contract.json") == contract


def test_inf_in_a_numeric_feature_is_named():
    frame = pd.DataFrame({"x": [1.0, np.inf, 2.0, -np.inf], "y": [1, 2, 3, 4]})
    check_finite(frame, ["y"], "train.csv")
    with pytest.raises(ContractError) as error:
        check_finite(frame, ["y", "x"], "train.csv")
    assert str(error.value).startswith("feature 'x' holds inf in 2 row(s) of train.csv "
                                       "(first: data row 2)")
