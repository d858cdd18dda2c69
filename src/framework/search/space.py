"""An adaptive search's space: the checked ``[Sweep]`` values as Optuna distributions.

The values are the random sweep's (framework/experiment/sweep.py): a list is a categorical, a table
a distribution, with scipy's meaning (``randint = [2, 8]`` draws 2..7). Optuna's categorical
choices must be None, bool, int, float or str; any other value (a list of columns, a table) is
offered as its JSON text and decoded back before it is assigned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

PRIMITIVE = (type(None), bool, int, float, str)


def _encoded(values: list[Any]) -> bool:
    return not all(isinstance(value, PRIMITIVE) for value in values)


def distributions(space: Mapping[str, Any]) -> dict[str, BaseDistribution]:
    """Each dotted key's Optuna distribution; the parameter names are the dotted keys."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    found: dict[str, BaseDistribution] = {}
    for key, value in space.items():
        if isinstance(value, list):
            choices = [json.dumps(v) for v in value] if _encoded(value) else value
            found[key] = CategoricalDistribution(choices)
            continue
        (kind, (low, high)), = value.items()
        if kind == "randint":
            found[key] = IntDistribution(low, high - 1)
        else:
            found[key] = FloatDistribution(float(low), float(high), log=kind == "loguniform")
    return found


def kind(distribution: BaseDistribution) -> str:
    """How a key is drawn, in the ``[Sweep]`` table's words."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return f"the list {list(distribution.choices)}"
    if isinstance(distribution, IntDistribution):
        return f"randint [{distribution.low}, {distribution.high + 1}]"
    name = "loguniform" if getattr(distribution, "log", False) else "uniform"
    return f"{name} [{distribution.low}, {distribution.high}]"  # type: ignore[attr-defined]


def changed_kind(study: optuna.Study, drawn: Mapping[str, BaseDistribution]) -> str | None:
    """A key the study's earlier trials drew otherwise than ``drawn`` would, described; None
    when every key is compatible. Optuna refuses such a trial only once it is asked (a
    traceback, and a trial left RUNNING), so a named study is checked before anything runs.
    Other bounds of the same kind are compatible: a study may narrow or widen a range."""
    from optuna.distributions import check_distribution_compatibility

    seen: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        for key, earlier in trial.distributions.items():
            if key in seen or key not in drawn:
                continue
            seen.add(key)
            try:
                check_distribution_compatibility(earlier, drawn[key])
            except ValueError:
                return f"{key} was drawn from {kind(earlier)}, now from {kind(drawn[key])}"
    return None


def decode(space: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's parameters as the configuration's values (JSON-encoded choices decoded)."""
    point = {}
    for key, value in params.items():
        encoded = isinstance(space.get(key), list) and _encoded(space[key])
        point[key] = json.loads(value) if encoded else value
    return point


def candidates(value: Any) -> list[Any]:
    """The values of one key that checking covers: every choice, or both ends of a range, of
    the type the study draws (``uniform = [0, 1]`` draws floats, so its ends are checked as
    0.0 and 1.0: an integer parameter refuses them before any trial, not in every trial)."""
    if isinstance(value, list):
        return value
    (kind, (low, high)), = value.items()
    return [low, high - 1] if kind == "randint" else [float(low), float(high)]


def corners(space: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Configurations that between them give every key each of its ``candidates`` (the other
    keys at their first): checked before a study starts, so a value an estimator refuses is
    found before any trial, as a grid finds it before any configuration."""
    base = {key: candidates(value)[0] for key, value in space.items()}
    yield base
    for key, value in space.items():
        for candidate in candidates(value)[1:]:
            yield {**base, key: candidate}
