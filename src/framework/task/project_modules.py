"""``RunConfig.modules`` may name the project's own modules only, checked before any import.

Importing a module runs it, and the config (or one ``--set``) can name any module:
``RunConfig.modules = ["antigravity"]`` would open a browser, also with ``--dry-run``. So a
name is first located file by file (``module_origin``), without importing the module or any
parent package of it, and must be a file inside the project's ``src/`` folder.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

from framework.core.errors import UserError

PROJECT_SRC = Path(__file__).resolve().parents[2]  # src/ (this file is src/framework/task/)


def module_origin(module: str) -> Path | None:
    """The file module ``module`` (dotted) would be loaded from, found without executing
    anything: ``importlib.util.find_spec`` of a dotted name would import the parent package,
    so each level is looked up in its parent's folders instead. None when there is no file."""
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


def check_project_module(name: str, what: str, source_root: Path = PROJECT_SRC) -> None:
    """``UserError`` unless ``name`` is a module file below ``source_root``. Imports nothing."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UserError(f"{what}: {name!r} is not a module name; write e.g. 'my_tasks' for "
                        "src/my_tasks.py")
    top_origin = module_origin(name.partition(".")[0])
    origin = module_origin(name) if top_origin is not None else None
    root = source_root.resolve()
    if top_origin is not None and not top_origin.is_relative_to(root):
        raise UserError(f"{what}: {name!r} is {top_origin}, not a module of this project; "
                        "only modules in src/ are imported")
    if origin is None:
        raise UserError(f"{what}: there is no module {name!r} in src/; put it in src/ or fix "
                        "the name")
    if not origin.is_relative_to(root):
        raise UserError(f"{what}: {name!r} is {origin}, not a module of this project; only "
                        "modules in src/ are imported")
