"""Resolving the import paths a config names, without running code nobody vouched for.

``luigi.toml`` names classes and functions by import path (``sklearn.ensemble.X``, like a Hydra
``_target_``). Importing a module runs it, so before anything is imported the path is checked:
it must be well formed, and its top-level package must be found (``importlib.util.find_spec``
locates a top-level module without executing it) in an allowed place: the project's own source
folder, or an installed distribution that is scikit-learn or declares a dependency on it (which
is what scikit-learn-compatible estimator libraries such as xgboost or lightgbm do). So
``antigravity.X`` is refused instead of opening a browser, even in a dry run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

SKLEARN_DISTRIBUTION = "scikit-learn"


class ImportPathError(ValueError):
    """An import path that is malformed, unknown or outside the allowed places."""


def split_path(path: str, what: str) -> tuple[str, str]:
    """``"pkg.mod.Name"`` -> ``("pkg.mod", "Name")``; every part must be an identifier."""
    module, _, name = path.rpartition(".")
    parts = path.split(".")
    if not module or not all(part.isidentifier() for part in parts):
        raise ImportPathError(f"{what} {path!r} is not an import path: write package.module.Name, "
                              "e.g. sklearn.ensemble.RandomForestClassifier")
    return module, name


@cache
def _sklearn_dependents() -> frozenset[str]:
    """Top-level module names of scikit-learn and of distributions that require it."""
    allowed: set[str] = set()
    for top, distributions in metadata.packages_distributions().items():
        for name in distributions:
            if _is_sklearn_compatible(name):
                allowed.add(top)
    return frozenset(allowed)


@cache
def _is_sklearn_compatible(distribution: str) -> bool:
    if distribution.lower() == SKLEARN_DISTRIBUTION:
        return True
    try:
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return False
    return any(req.lower().replace("_", "-").startswith(SKLEARN_DISTRIBUTION) for req in requires)


def _origin(top: str) -> Path | None:
    """Where top-level module ``top`` would be loaded from, found without executing it."""
    if top in sys.modules:
        file = getattr(sys.modules[top], "__file__", None)
        return Path(file).resolve() if file else None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return None
    return Path(spec.origin).resolve()


def check_allowed(module: str, what: str, project_src: Path | None, libraries: bool) -> None:
    """Raise ``ImportPathError`` unless ``module``'s package is in an allowed place.

    Allowed: below ``project_src`` (the project's code), and, when ``libraries``, an installed
    scikit-learn-compatible distribution. Nothing is imported here.
    """
    top = module.partition(".")[0]
    origin = _origin(top)
    if origin is None:
        raise ImportPathError(f"{what}: no module named {top!r} is installed or in src/; "
                              "fix the name or install the package")
    if project_src is not None and origin.is_relative_to(project_src.resolve()):
        return
    if libraries and top in _sklearn_dependents():
        return
    where = "src/ or a scikit-learn-compatible package" if libraries else "src/"
    raise ImportPathError(f"{what}: {top!r} ({origin}) is not code this runner will import; "
                          f"use a class from {where}")


def resolve(path: str, what: str, project_src: Path | None, libraries: bool = True) -> Any:
    """The object at import path ``path`` once ``check_allowed`` passed; else ``ImportPathError``.

    ``what`` names the config entry in messages (e.g. ``"Trainer.estimator"``).
    """
    module_name, name = split_path(path, what)
    check_allowed(module_name, what, project_src, libraries)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportPathError(f"{what}: cannot import {module_name!r} ({error}); "
                              "fix the import path") from None
    except SyntaxError as error:
        raise ImportPathError(f"{what}: {error.filename}:{error.lineno}: syntax error "
                              f"({error.msg}); fix that file") from None
    found = getattr(module, name, None)
    if found is None:
        raise ImportPathError(f"{what}: module {module_name} has no {name!r}; fix the name")
    return found
