"""Derived features: named functions that add columns computed from raw columns.

A dataset-specific feature (the Titanic example's title from ``Name``) is a plain function
``frame -> DataFrame of new columns`` marked with ``@derived_feature``, which declares the raw
columns it reads and the columns it makes, so configs can be checked before anything runs.
Configs name such functions by import path in ``Preprocessor.derived_features``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tabular.imports import ImportPathError, resolve

DerivedFunction = Callable[[pd.DataFrame], pd.DataFrame]
PROJECT_SRC = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DerivedFeature:
    """A derived-feature function with the raw columns it ``needs`` and the ones it ``makes``."""

    function: DerivedFunction
    needs: tuple[str, ...]
    makes: tuple[str, ...]

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        made = self.function(frame)
        if list(made.columns) != list(self.makes):
            raise ValueError(f"{self.function.__name__} made columns {list(made.columns)}, "
                             f"not the declared {list(self.makes)}")
        return made

    @property
    def path(self) -> str:
        return f"{self.function.__module__}.{self.function.__name__}"

    def __reduce__(self) -> tuple[Callable[[str], DerivedFeature], tuple[str]]:
        # Pickled by import path, as functions are: a fitted pipeline refers to the feature's
        # code (which travels with the model), it does not copy it.
        return _by_path, (self.path,)


def _by_path(path: str) -> DerivedFeature:
    import importlib

    module, _, name = path.rpartition(".")
    feature = getattr(importlib.import_module(module), name)
    assert isinstance(feature, DerivedFeature), path
    return feature


def derived_feature(needs: Sequence[str], makes: Sequence[str]
                    ) -> Callable[[DerivedFunction], DerivedFeature]:
    """Decorator: declare what a derived-feature function reads and makes."""

    def wrap(function: DerivedFunction) -> DerivedFeature:
        return DerivedFeature(function, tuple(needs), tuple(makes))

    return wrap


def load_derived(paths: Sequence[str]) -> tuple[DerivedFeature, ...]:
    """The derived features at ``paths`` (project code only); ``ImportPathError`` otherwise."""
    found = []
    for path in paths:
        feature = resolve(path, "Preprocessor.derived_features", PROJECT_SRC, libraries=False,
                          wanted=lambda value: isinstance(value, DerivedFeature))
        if not isinstance(feature, DerivedFeature):
            raise ImportPathError(f"Preprocessor.derived_features: {path} is not marked with "
                                  "@tabular.derived.derived_feature(needs=..., makes=...)")
        found.append(feature)
    return tuple(found)
