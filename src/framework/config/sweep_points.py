"""A sweep's configurations: the grid or random sample of a checked ``SweepSpec`` walked one
at a time, the digest that says two expansions are equal, and each configuration as the
experiment file with the point's values assigned exactly as ``--set`` would assign them.

A grid is ``itertools.product`` over the keys in the order they were written (the table's,
then the ``--sweep`` flags'): the first key varies slowest, as in nested loops and Hydra's
basic sweeper, so the table and the runs follow what the user wrote. A random sample is
scikit-learn's ``ParameterSampler``, which sorts the keys itself."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from framework.config import file as config_file
from framework.config import overrides
from framework.config.sweep_spec import SweepSpec, count


def points(spec: SweepSpec) -> Iterator[dict[str, Any]]:
    """The configurations, as dotted key -> plain Python value, in the order they will run,
    one at a time (a large grid is never held as a list)."""
    if spec.method == "grid":
        keys = list(spec.space)
        yield from (dict(zip(keys, values, strict=True))
                    for values in itertools.product(*spec.space.values()))
        return
    from sklearn.model_selection import ParameterSampler

    found: Iterable[dict[str, Any]] = ParameterSampler(spec.space, n_iter=count(spec),
                                                       random_state=spec.seed)
    # numpy scalars (from the samplers) are not TOML values; their Python twins are.
    for point in found:
        yield {key: value.item() if hasattr(value, "item") else value
               for key, value in point.items()}


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every configuration, in the order they will run."""
    return list(points(spec))


def grid_digest(spec: SweepSpec) -> str:
    """What the expansion depends on. An equal digest means an equal list of configurations.

    A grid: its keys in order (they set the order of the configurations) and their values. A
    random sample: the space (``ParameterSampler`` sorts its keys), samples, seed and the
    versions of the libraries that draw it."""
    import hashlib

    if spec.method == "grid":
        basis: dict[str, Any] = {"grid": [[key, spec.raw[key]] for key in spec.space]}
    else:
        from importlib import metadata

        basis = {"space": {key: spec.raw[key] for key in spec.space}, "method": spec.method,
                 "samples": spec.samples, "seed": spec.seed,
                 "libraries": [metadata.version(name) for name in ("scikit-learn", "scipy")]}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def configuration(base: config_file.ExperimentConfig, point: Mapping[str, Any],
                  spec: SweepSpec, project_root: Path) -> config_file.ExperimentConfig:
    """``base`` with the point's values assigned as ``--set`` would (a key in a table merges)."""
    document = {name: dict(body) for name, body in base.document.items()}
    origins = dict(base.origins)
    for key, value in point.items():
        overrides.assign(document, key.split("."), value, spec.origins[key], origins)
    return config_file.from_document(base.path, document, project_root, origins)


def describe(point: Mapping[str, Any]) -> str:
    """``Trainer.estimator_params.alpha=0.1 Trainer.seed=1``."""
    return " ".join(f"{key}={json.dumps(value)}" for key, value in point.items())
