"""Sweeps: the ``[Sweep]`` table and ``--sweep`` flags read into a checked ``SweepSpec``.

A sweep key is a dotted task parameter, ``"Task.param"`` or ``"Task.param.key"`` (one key of a
table parameter); its value is a list of values (``grid`` and ``random``) or, for ``random``
and the adaptive methods (``tpe``, ``cmaes``, ``gp``: framework/search/study.py), a distribution
``{ loguniform = [a, b] }``, ``{ uniform = [a, b] }`` or ``{ randint = [low, high] }``
(scipy.stats', so ``high`` is excluded). A grid or random sweep is counted here before anything
expands it (``count``, ``check_size``); its configurations are framework/config/sweep_points.py's,
each judged by the same checks as the experiment file (framework/config/schema.py, each task's
``check()``) before anything runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import luigi

from framework.config import file as config_file
from framework.config import overrides
from framework.config.schema import task_parameters
from framework.core.errors import UserError

SECTION = f"[{config_file.SWEEP_SECTION}]"
ADAPTIVE = ("tpe", "cmaes", "gp")  # Optuna samplers: framework/search/study.py
PRUNERS = ("median", "hyperband", "none")
OPTIONS = {
    "method": 'how configurations are chosen: "grid" (every combination), "random", or an '
              'adaptive search: "tpe", "cmaes", "gp"',
    "samples": "for random: how many configurations (default 10)",
    "seed": "for random and adaptive methods: the sampling seed (default 0)",
    "trials": "adaptive: the study's total number of trials (default 20)",
    "pruner": 'adaptive: "median" (default), "hyperband" or "none"',
    "timeout": "adaptive: start no trial after this many seconds (optional)",
    "study": "adaptive: the study's name (default: from the experiment and the search space)",
    "max_configurations": "refuse a grid or random sweep larger than this (default 10000)",
    "metric": "what best means (default: the pipeline's headline metric, e.g. cv_accuracy_mean)",
    "goal": '"maximize" (default) or "minimize"',
    "register": "register the best configuration's model under this name, alias 'best'",
}
DISTRIBUTIONS = ("loguniform", "uniform", "randint")


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep (dotted key -> values or a distribution) and how to judge the result."""

    space: dict[str, Any]
    origins: dict[str, str]
    method: str = "grid"
    samples: int = 10
    seed: int = 0
    metric: str | None = None
    goal: str = "maximize"
    register: str | None = None
    trials: int = 20
    pruner: str = "median"
    timeout: float | None = None
    study: str | None = None
    max_configurations: int = 10_000
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def adaptive(self) -> bool:
        """True for an Optuna study (framework/search/study.py), False for a grid or random
        sweep."""
        return self.method in ADAPTIVE


def read_spec(table: Mapping[str, Any], flags: Sequence[str],
              registry: Mapping[str, type[luigi.Task]]) -> SweepSpec:
    """The ``[Sweep]`` table with ``--sweep KEY=VALUE`` flags on top, checked.

    Raises ``UserError`` naming the table or the flag for an unknown option, task or
    parameter, a key inside a parameter that is not a table, or a value that is not a list.
    """
    entries = {key: (value, SECTION) for key, value in table.items()}
    for text in flags:
        key, sep, _raw = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--sweep {text!r}: write it as Task.param=[v1, v2], "
                            "e.g. --sweep 'Trainer.seed=[0,1]'")
        entries[key.strip()] = (overrides.parse_override(text, "--sweep", min_keys=1)[1],
                                f"--sweep {text!r}")
    options = {key: value for key, (value, _) in entries.items() if "." not in key}
    for key, value in options.items():
        if isinstance(value, dict) and (key in registry or config_file.suggest(key, registry)):
            raise UserError(f"{entries[key][1]}: {unquoted_hint(key, value, list(registry))}")
        if key not in OPTIONS:
            raise UserError(f"{entries[key][1]}: unknown sweep option {key!r}"
                            f"{config_file.suggest(key, OPTIONS)}; options are "
                            f"{', '.join(OPTIONS)}, and swept keys look like Task.param")
    space = {key: value for key, (value, _) in entries.items() if "." in key}
    origins = {key: origin for key, (_, origin) in entries.items() if "." in key}
    if not space:
        raise UserError(f"{SECTION}: nothing to sweep; add e.g. "
                        '"Trainer.seed" = [0, 1], or drop the section')
    spec = SweepSpec(space=space, origins=origins,
                     raw={key: value for key, (value, _) in entries.items()}, **options)
    check_options(spec)
    for key in space:
        check_key(key, origins[key], registry)
    spec = replace(spec, space={key: check_values(key, value, origins[key], spec.method)
                                for key, value in space.items()})
    if not spec.adaptive:
        check_size(spec)
    return spec


def unquoted_hint(task: str, table: Mapping[str, Any], tasks: Sequence[str]) -> str:
    """What to write instead of ``Task.param = [...]`` unquoted, which TOML reads as a table
    ``Task = {param = [...]}``: the quoted key (its task's closest name, when misspelt) and the
    form of its value (a list, or a distribution table such as ``{ randint = [...] }``)."""
    import difflib

    named = task if task in tasks else next(iter(difflib.get_close_matches(task, tasks, 1)), task)
    dotted, inner = [named], table
    while isinstance(inner, Mapping) and inner and not is_distribution(inner):
        key, inner = next(iter(inner.items()))  # down to the (first) swept values
        dotted.append(key)
    key = ".".join(dotted) if len(dotted) > 1 else f"{named}.param"
    value = (f"{{ {next(iter(inner))} = [...] }}" if isinstance(inner, Mapping) and inner
             else "[...]")
    return (f"{task}.{'.'.join(dotted[1:]) or 'param'} unquoted makes a TOML table {task}, not "
            f'a swept key: write "{key}" = {value} (quoted)')


def is_distribution(table: Mapping[str, Any]) -> bool:
    """``{ randint = [2, 8] }``: one entry, named after a distribution."""
    return len(table) == 1 and next(iter(table)) in DISTRIBUTIONS


def check_options(spec: SweepSpec) -> None:
    def bad(name: str, wanted: str) -> UserError:
        return UserError(f"{SECTION} {name} = {getattr(spec, name)!r}: expected {wanted}")

    def positive_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    if spec.method not in ("grid", "random", *ADAPTIVE):
        raise bad("method", '"grid", "random", "tpe", "cmaes" or "gp"')
    for name in ("samples", "trials", "max_configurations"):
        if not positive_int(getattr(spec, name)):
            raise bad(name, "a positive integer")
    if spec.pruner not in PRUNERS:
        raise bad("pruner", '"median", "hyperband" or "none"')
    if spec.timeout is not None and (isinstance(spec.timeout, bool)
                                     or not isinstance(spec.timeout, int | float)
                                     or not spec.timeout > 0):
        raise bad("timeout", "a positive number of seconds")
    if spec.study is not None and (not isinstance(spec.study, str) or not spec.study.strip()):
        raise bad("study", "a non-empty name")
    check_method_options(spec)
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int):
        raise bad("seed", "an integer")
    if spec.goal not in ("maximize", "minimize"):
        raise bad("goal", '"maximize" or "minimize"')
    for name in ("metric", "register"):
        if getattr(spec, name) is not None and not isinstance(getattr(spec, name), str):
            raise bad(name, "a string")


def check_method_options(spec: SweepSpec) -> None:
    """Options that belong to another method are refused rather than silently ignored."""
    given = set(spec.raw)
    wrong = sorted(given & ({"trials", "pruner", "timeout", "study"} if not spec.adaptive
                            else {"samples", "max_configurations"}))
    if wrong:
        raise UserError(f"{SECTION} {wrong[0]}: not an option of method = {spec.method!r}; "
                        f"drop it{' or use trials' if wrong[0] == 'samples' else ''}")
    if spec.method == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise UserError(f'{SECTION} method = "gp": Optuna\'s GPSampler needs PyTorch, which '
                            'is not installed; pip install torch, or use method = "tpe"')


def check_values(key: str, value: Any, origin: str, method: str) -> Any:
    """A non-empty list, or (random and adaptive methods) a distribution built from a table:
    a scipy.stats one for random, the checked table itself for an adaptive method."""
    if isinstance(value, list) and value:
        check_distinct(key, value, origin)
        return value
    if isinstance(value, dict) and method != "grid":
        checked = distribution(key, value, origin)
        return checked if method == "random" else dict(value)
    raise UserError(f"{origin}: {key} = {value!r}: give a non-empty list of values, e.g. "
                    f"[1, 2], or with method = \"random\" or \"tpe\" a distribution "
                    f"{{ {' | '.join(DISTRIBUTIONS)} = [low, high] }}")


def check_distinct(key: str, values: list[Any], origin: str) -> None:
    """Each value once: a repeated one would run the same configuration twice (values compare
    as TOML writes them, so 1, 1.0 and true differ)."""
    seen: set[str] = set()
    for value in values:
        text = json.dumps(value, sort_keys=True, default=str)  # str: TOML dates and times
        if text in seen:
            raise UserError(f"{origin}: {key} lists {text} twice; give each value once")
        seen.add(text)


def distribution(key: str, table: Mapping[str, Any], origin: str) -> Any:
    import scipy.stats

    kind, bounds = next(iter(table.items())) if len(table) == 1 else ("", [])
    numbers = (isinstance(bounds, list) and len(bounds) == 2
               and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds))
    if kind not in DISTRIBUTIONS or not numbers or not bounds[0] < bounds[1]:
        raise UserError(f"{origin}: {key} = {dict(table)!r}: write one of "
                        f"{', '.join(f'{{ {name} = [low, high] }}' for name in DISTRIBUTIONS)} "
                        "with low < high")
    low, high = bounds
    if kind == "loguniform":
        if low <= 0:
            raise UserError(f"{origin}: {key}: loguniform needs 0 < low < high")
        return scipy.stats.loguniform(low, high)
    if kind == "uniform":
        return scipy.stats.uniform(loc=low, scale=high - low)
    if not (isinstance(low, int) and isinstance(high, int)):
        raise UserError(f"{origin}: {key}: randint needs integer bounds")
    return scipy.stats.randint(low, high)


def check_key(key: str, origin: str, registry: Mapping[str, type[luigi.Task]]) -> None:
    """``Task.param[.key]`` must name a task parameter (a table one when it goes deeper)."""
    task, param, *inner = key.split(".")
    if task not in registry:
        raise UserError(f"{origin}: unknown task {task!r} in {key!r}"
                        f"{config_file.suggest(task, registry)}; known tasks: "
                        f"{', '.join(sorted(registry))}")
    params = task_parameters(registry[task])
    if param not in params:
        raise UserError(f"{origin}: unknown key {task}.{param}{config_file.suggest(param, params)}"
                        f"; {task} takes: {', '.join(params) or 'none'}")
    if inner and not isinstance(params[param], luigi.DictParameter):
        raise UserError(f"{origin}: {task}.{param} is not a table, so {key!r} names nothing; "
                        f"sweep {task}.{param} itself")


def count(spec: SweepSpec) -> int:
    """How many configurations a grid or random sweep has, without expanding it: the product
    of the list lengths (a random sweep over lists only never repeats one, so at most that)."""
    lists = [len(value) for value in spec.space.values() if isinstance(value, list)]
    product = math.prod(lists)
    if spec.method == "grid":
        return product
    return min(spec.samples, product) if len(lists) == len(spec.space) else spec.samples


def check_size(spec: SweepSpec) -> int:
    """``count(spec)``, or ``UserError`` when it exceeds ``max_configurations``."""
    size = count(spec)
    if size > spec.max_configurations:
        what = "samples" if spec.method == "random" else "the grid (product of the list lengths)"
        raise UserError(f"{SECTION}: {size:,} configurations ({what}) is more than "
                        f"max_configurations = {spec.max_configurations:,}; sweep fewer values, "
                        f"or raise it with --sweep max_configurations={size}")
    return size
