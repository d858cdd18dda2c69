"""Making a fitted model pickle to the same bytes however its parts were obtained.

Pickle memoizes by object identity, so an attribute name is written once per distinct string
object that spells it. Which object spells a name depends on the process, not on the model:
CPython instance dicts share their key objects with the class's other instances (PEP 412), and
scikit-learn's ``BaseEstimator.__setstate__`` restores attributes with ``__dict__.update``,
skipping the interning pickle does for plain objects. A pipeline unpickled in a process that
had not fitted its classes yet (the Trainer reusing the Preprocessor's ``features.pkl``) thus
holds names that are other objects than the interned ones its freshly made estimator holds,
and the same model is written as other bytes than in a process that ran the Preprocessor too.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np


def intern_attribute_names(root: object) -> None:
    """Make every instance attribute name reachable from ``root`` the interned string.

    Reachable: through instance attributes, lists, tuples, sets, dict values and object
    arrays. An instance whose names are not all interned gets a new ``__dict__`` of its own
    with the same values in the same order; nothing else changes, so what the model computes
    does not either. Afterwards the attribute names no longer depend on the process: a model
    fitted on features read back pickles as the one fitted where they were made (values are
    left as they are, so this promises nothing about, e.g., a set's order under hashing).
    """
    seen: set[int] = set()
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, list | tuple | set | frozenset):
            pending.extend(obj)
        elif isinstance(obj, dict):
            pending.extend(obj.values())
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                pending.extend(obj.flat)
        elif (isinstance(attributes := getattr(obj, "__dict__", None), dict)
              and not isinstance(obj, type | ModuleType)):
            if not all(_is_interned(name) for name in attributes):
                # A new dict, not the old one updated: that would take its key objects from
                # the class's shared keys again. object.__setattr__: frozen dataclasses too.
                object.__setattr__(obj, "__dict__", {
                    sys.intern(name) if type(name) is str else name: value
                    for name, value in attributes.items()})
            pending.extend(attributes.values())


def _is_interned(name: object) -> bool:
    # sys.intern returns the interned equal string, or interns ``name`` itself if none exists.
    return type(name) is not str or sys.intern(name) is name
