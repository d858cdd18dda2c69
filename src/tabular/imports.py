"""Resolving the import paths a config names, without running code nobody vouched for.

``luigi.toml`` names classes and functions by import path (``sklearn.ensemble.X``, like a Hydra
``_target_``). Importing a module runs it, so before anything is imported the path is checked:
it must be well formed, and the module it names must be found (``module_origin``: located
file by file, without importing it or any of its parent packages) inside an allowed package:
the project's own source folder, or one of the installed packages that provide estimators
(``ESTIMATOR_PACKAGES``: scikit-learn, and xgboost, lightgbm or catboost when installed). Not
"anything that depends on scikit-learn": mlflow does, and ``mlflow.server.auth.X`` would run
its code. So ``antigravity.X`` is refused instead of opening a browser, even in a dry run, and
the object found must be defined inside the package it was named from.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Top-level packages that provide scikit-learn-compatible estimators (module name:
# distribution). Only these, not every package that merely requires scikit-learn.
ESTIMATOR_PACKAGES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm",
                      "catboost": "catboost"}
ALLOWED_LIBRARIES = "an estimator package (" + ", ".join(ESTIMATOR_PACKAGES.values()) + ")"


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


def module_origin(module: str) -> Path | None:
    """The file module ``module`` (dotted) would be loaded from, found without executing
    anything: not the module, not its parent packages (``importlib.util.find_spec`` of a dotted
    name imports the parent). None when there is no such file (unknown, built-in, frozen)."""
    parts = module.split(".")
    spec = _top_spec(parts[0])
    for depth in range(1, len(parts)):
        locations = spec.submodule_search_locations if spec is not None else None
        if not locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth + 1]),
                                                        list(locations))
    if len(parts) == 1 and module in sys.modules:  # e.g. os: frozen, yet loaded from a file
        file = getattr(sys.modules[module], "__file__", None)
        return Path(file).resolve() if file else None
    if spec is None or spec.origin in (None, "built-in", "frozen") or not spec.has_location:
        return None
    return Path(spec.origin).resolve()


def _top_spec(top: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of top-level module ``top`` (finding a top-level module imports nothing)."""
    if top in sys.modules:
        return getattr(sys.modules[top], "__spec__", None)
    try:
        return importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None


def allowed_root(module: str, project_src: Path | None, libraries: bool) -> Path | None:
    """The folder ``module`` must lie in: ``project_src`` when its top-level package is there,
    else (with ``libraries``) the estimator package's own folder; None when neither."""
    top = module.partition(".")[0]
    origin = module_origin(top)
    if origin is None:
        return None
    if project_src is not None and origin.is_relative_to(project_src.resolve()):
        return project_src.resolve()
    if libraries and top in ESTIMATOR_PACKAGES and origin.name == "__init__.py":
        return origin.parent
    return None


def check_allowed(module: str, what: str, project_src: Path | None, libraries: bool) -> Path:
    """Raise ``ImportPathError`` unless ``module`` is a file inside an allowed package; the
    package's folder otherwise.

    Allowed: below ``project_src`` (the project's code), and, when ``libraries``, one of
    ``ESTIMATOR_PACKAGES``. The module itself must lie inside that package's folder too (no
    path that leaves it). Nothing is imported here.
    """
    top = module.partition(".")[0]
    top_origin = module_origin(top)
    if top_origin is None:
        raise ImportPathError(f"{what}: no module named {top!r} is installed or in src/; "
                              "fix the name or install the package")
    root = allowed_root(module, project_src, libraries)
    if root is None:
        where = f"src/ or {ALLOWED_LIBRARIES}" if libraries else "src/"
        raise ImportPathError(f"{what}: {top!r} ({top_origin}) is not code this runner will "
                              f"import; use a class from {where}")
    origin = module_origin(module)
    if origin is None:
        raise ImportPathError(f"{what}: cannot import {module!r} (No module named {module!r}); "
                              "fix the import path")
    if not origin.is_relative_to(root):
        raise ImportPathError(f"{what}: {module!r} ({origin}) lies outside {root}; name a "
                              "module inside the package")
    return root


def resolve(path: str, what: str, project_src: Path | None, libraries: bool = True,
            wanted: Callable[[Any], bool] | None = None) -> Any:
    """The object at import path ``path`` once ``check_allowed`` passed; else ``ImportPathError``.

    ``what`` names the config entry in messages (e.g. ``"Trainer.estimator"``); ``wanted``
    picks the module's objects a missing name may be a typo of ("did you mean").
    """
    module_name, name = split_path(path, what)
    root = check_allowed(module_name, what, project_src, libraries)
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
        names = [other for other, value in vars(module).items()
                 if not other.startswith("_") and wanted is not None and wanted(value)]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ImportPathError(f"{what}: module {module_name} has no {name!r}{hint}; "
                              "fix the name")
    home = getattr(found, "__module__", None) or module_name
    if home.partition(".")[0] != module_name.partition(".")[0] and not _defined_in(home, root):
        raise ImportPathError(f"{what}: {path} is {home}.{name}, from outside the package "
                              f"{module_name.partition('.')[0]!r}; name a class defined in it")
    return found


def _defined_in(module: str, root: Path) -> bool:
    """True when the already imported ``module`` was loaded from a file below ``root``."""
    file = getattr(sys.modules.get(module), "__file__", None)
    return bool(file) and Path(str(file)).resolve().is_relative_to(root)
