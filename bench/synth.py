"""Synthetic Titanic-shaped data: ``python bench/synth.py --rows N --out DIR``.

Writes ``DIR/train.csv`` (N rows) and ``DIR/test.csv`` (``round(N * 418 / 891)`` rows, no
``Survived``) with Kaggle's columns and realistic marginals, measured on the real train.csv:
class shares 24/21/55 %, 65 % men, Age missing ~20 %, Cabin missing ~77 % (mostly 2nd/3rd
class), Embarked missing ~0.2 %, class-dependent fares and ages, names of the form
``"Surname, Title. First"`` with Mr/Mrs/Miss/Master and ~3 % rare titles. Survival follows a
logistic model of sex, class, age and family size that reproduces the real survival rates by
sex and class (about 38 % overall). Output is deterministic for a given seed; everything is
vectorised with numpy, so a million rows take a few seconds (mostly ``to_csv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REAL_TRAIN_ROWS = 891
REAL_TEST_ROWS = 418

CLASS_SHARES = (0.242, 0.207, 0.551)
SIBSP = ((0, 1, 2, 3, 4, 5, 8), (0.682, 0.235, 0.031, 0.018, 0.020, 0.006, 0.008))
PARCH = ((0, 1, 2, 3, 4, 5, 6), (0.761, 0.132, 0.090, 0.006, 0.004, 0.006, 0.001))
EMBARKED = (("S", "C", "Q"), (0.724, 0.189, 0.087))
AGE_MISSING = 0.199
EMBARKED_MISSING = 0.002
# Share of passengers with a known cabin, by class (1st, 2nd, 3rd): 23 % overall.
CABIN_KNOWN = (0.815, 0.087, 0.024)
# Log-normal fares by class: median and spread; ~1.7 % of the real fares are 0.
FARE_MEDIAN = (60.0, 14.25, 8.05)
FARE_SIGMA = (0.75, 0.55, 0.45)
FARE_ZERO = 0.017
# Ages by class: mean and standard deviation, clipped to the real range.
AGE_MEAN = (38.2, 29.9, 25.1)
AGE_STD = (14.8, 14.0, 12.5)
# Survival log-odds by class (1st, 2nd, 3rd) before the age and family terms.
MALE_LOGIT = (-0.45, -1.75, -1.95)
FEMALE_LOGIT = (3.3, 2.3, 0.15)
RARE_TITLES = ("Dr", "Rev", "Major", "Col", "Mlle", "Ms", "Mme", "Lady", "Sir", "Capt",
               "the Countess", "Jonkheer", "Don")
RARE_SHARE = 0.03
TICKET_PREFIXES = ("", "", "", "PC ", "A/5 ", "STON/O2. ", "SOTON/O.Q. ", "C.A. ", "W./C. ",
                   "SC/PARIS ", "F.C.C. ")
SYLLABLES = ("an", "ber", "cal", "dor", "el", "fin", "gar", "hol", "is", "jon", "kel", "lin",
             "mor", "nor", "ol", "per", "quin", "ros", "sen", "tor", "ul", "van", "wil", "yor")
MALE_FIRST = ("John", "William", "Thomas", "Charles", "George", "James", "Henry", "Edward",
              "Frederick", "Arthur", "Joseph", "Albert", "Patrick", "Karl", "Johan", "Ernst")
FEMALE_FIRST = ("Mary", "Anna", "Elizabeth", "Margaret", "Alice", "Ellen", "Helen", "Emily",
                "Catherine", "Bertha", "Marie", "Hilda", "Agnes", "Ida", "Kate", "Jane")


def test_rows(train_rows: int) -> int:
    """Rows of test.csv for ``train_rows`` training rows (Kaggle's 418 : 891 ratio)."""
    return max(1, round(train_rows * REAL_TEST_ROWS / REAL_TRAIN_ROWS))


def _pick(rng: np.random.Generator, options: tuple, n: int) -> np.ndarray:
    values, shares = options
    p = np.asarray(shares, dtype=float)
    return rng.choice(np.asarray(values), size=n, p=p / p.sum())


def _surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Surnames drawn from the 13,824 made-up three-syllable names (e.g. "Bermorol")."""
    vocabulary = np.asarray([(a + b + c).capitalize() for a in SYLLABLES for b in SYLLABLES
                             for c in SYLLABLES], dtype=object)
    return vocabulary[rng.integers(0, len(vocabulary), size=n)]


def _titles(rng: np.random.Generator, male: np.ndarray, age: np.ndarray,
            parch: np.ndarray, sibsp: np.ndarray) -> np.ndarray:
    """Mr/Master for men and boys, Mrs/Miss for women, a few rare titles for anyone."""
    # Women travelling with a spouse or children are mostly "Mrs"; young ones "Miss".
    known_age = np.nan_to_num(age, nan=30.0)
    married = (known_age >= 18) & (rng.random(len(male)) < 0.45 + 0.25 * ((sibsp + parch) > 0))
    titles = np.where(male, np.where(known_age < 13, "Master", "Mr"),
                      np.where(married, "Mrs", "Miss")).astype(object)
    rare = rng.random(len(male)) < RARE_SHARE
    titles[rare] = np.asarray(RARE_TITLES, dtype=object)[rng.integers(0, len(RARE_TITLES),
                                                                      rare.sum())]
    return titles


def _names(rng: np.random.Generator, male: np.ndarray, titles: np.ndarray) -> np.ndarray:
    first = np.where(male, np.asarray(MALE_FIRST, dtype=object)[rng.integers(0, 16, len(male))],
                     np.asarray(FEMALE_FIRST, dtype=object)[rng.integers(0, 16, len(male))])
    return _surnames(rng, len(male)) + ", " + titles + ". " + first


def _ages(rng: np.random.Generator, pclass: np.ndarray) -> np.ndarray:
    index = pclass - 1
    ages = rng.normal(np.take(AGE_MEAN, index), np.take(AGE_STD, index))
    ages = np.clip(ages, 0.42, 80.0)
    # Real ages are whole years above one (with a few .5 estimates).
    ages = np.where(ages >= 1, np.floor(ages), np.round(ages, 2))
    ages[rng.random(len(ages)) < AGE_MISSING] = np.nan
    return ages


def _fares(rng: np.random.Generator, pclass: np.ndarray) -> np.ndarray:
    index = pclass - 1
    fares = np.take(FARE_MEDIAN, index) * np.exp(rng.normal(0, np.take(FARE_SIGMA, index)))
    fares = np.round(np.minimum(fares, 512.3292), 4)
    fares[rng.random(len(fares)) < FARE_ZERO] = 0.0
    return fares


def _tickets(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.asarray(TICKET_PREFIXES, dtype=object)[rng.integers(0, len(TICKET_PREFIXES), n)]
    numbers = rng.integers(1_000, 3_999_999, size=n).astype(str).astype(object)
    return prefixes + numbers


def _cabins(rng: np.random.Generator, pclass: np.ndarray) -> np.ndarray:
    n = len(pclass)
    decks = np.where(pclass == 1, np.asarray(list("ABCDE"), dtype=object)[rng.integers(0, 5, n)],
                     np.asarray(list("DEFG"), dtype=object)[rng.integers(0, 4, n)])
    cabins = decks + rng.integers(1, 149, size=n).astype(str).astype(object)
    known = rng.random(n) < np.take(CABIN_KNOWN, pclass - 1)
    return np.asarray(np.where(known, cabins, None), dtype=object)


def _survived(rng: np.random.Generator, male: np.ndarray, pclass: np.ndarray,
              age: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Logistic model calibrated to the real survival rate of each sex and class."""
    known_age = np.nan_to_num(age, nan=30.0)
    base = np.where(male, np.take(MALE_LOGIT, pclass - 1), np.take(FEMALE_LOGIT, pclass - 1))
    logit = (base
             + 1.6 * (male & (known_age < 13))
             - 0.015 * (known_age - 30)
             - 1.4 * (family > 4))
    return (rng.random(len(male)) < 1 / (1 + np.exp(-logit))).astype(np.int64)


def passengers(n: int, rng: np.random.Generator, first_id: int = 1) -> pd.DataFrame:
    """``n`` synthetic passengers with every Kaggle column (``Survived`` included)."""
    pclass = _pick(rng, ((1, 2, 3), CLASS_SHARES), n).astype(np.int64)
    male = rng.random(n) < np.take((0.57, 0.59, 0.71), pclass - 1)
    age = _ages(rng, pclass)
    sibsp = _pick(rng, SIBSP, n).astype(np.int64)
    parch = _pick(rng, PARCH, n).astype(np.int64)
    embarked = _pick(rng, EMBARKED, n).astype(object)
    embarked[rng.random(n) < EMBARKED_MISSING] = None
    return pd.DataFrame({
        "PassengerId": np.arange(first_id, first_id + n, dtype=np.int64),
        "Survived": _survived(rng, male, pclass, age, sibsp + parch + 1),
        "Pclass": pclass,
        "Name": _names(rng, male, _titles(rng, male, age, parch, sibsp)),
        "Sex": np.where(male, "male", "female"),
        "Age": age,
        "SibSp": sibsp,
        "Parch": parch,
        "Ticket": _tickets(rng, n),
        "Fare": _fares(rng, pclass),
        "Cabin": _cabins(rng, pclass),
        "Embarked": embarked,
    })


def write_dataset(rows: int, out: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``out/train.csv`` (``rows`` rows) and ``out/test.csv``; return both paths.

    The same ``rows`` and ``seed`` always give byte-identical files.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    train = passengers(rows, rng)
    test = passengers(test_rows(rows), rng, first_id=rows + 1).drop(columns=["Survived"])
    train_path, test_path = out / "train.csv", out / "test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    return train_path, test_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="training rows")
    parser.add_argument("--out", type=Path, required=True, help="folder for the csv files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in write_dataset(args.rows, args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
