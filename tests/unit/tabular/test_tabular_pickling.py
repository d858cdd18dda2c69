"""Attribute names made the interned strings, so a model pickles the same however it was made."""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass

import numpy as np

from tabular.pickling import intern_attribute_names


class Restored:
    """Restores its attributes as scikit-learn's ``BaseEstimator.__setstate__`` does."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class Made:
    def __init__(self) -> None:
        self.alpha = 1


@dataclass(frozen=True)
class Frozen:
    inner: object


def restored_with_a_name_pickle_did_not_intern() -> Restored:
    restored = Restored.__new__(Restored)
    restored.__setstate__({"".join(["al", "pha"]): 1, "beta": [2]})
    # Else this test would test nothing.
    assert next(iter(vars(restored))) is not sys.intern("alpha")
    return restored


def test_a_name_is_pickled_once_whichever_object_spelled_it() -> None:
    restored = restored_with_a_name_pickle_did_not_intern()
    model = [Made(), Frozen(np.array([restored], dtype=object))]
    assert pickle.dumps(model).count(b"alpha") == 2
    intern_attribute_names(model)
    assert pickle.dumps(model).count(b"alpha") == 1


def test_values_order_and_identity_of_the_objects_are_kept() -> None:
    restored = restored_with_a_name_pickle_did_not_intern()
    beta = vars(restored)["beta"]
    holder = {"key": (restored,)}
    intern_attribute_names(holder)
    assert holder["key"][0] is restored
    assert list(vars(restored)) == ["alpha", "beta"]
    assert vars(restored)["beta"] is beta
    assert all(name is sys.intern(name) for name in vars(restored))
