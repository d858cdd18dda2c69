"""Task signatures: a hash of everything that decides what a task writes.

A signature covers the task's name, its parameters, the signatures of the outputs it reads,
the bytes of the raw files it reads, the code of its module and of every project module that
module imports (as syntax trees, so comments and formatting do not count), the versions of
the libraries that shape results, and the engine's output format.

The engine (the ``framework`` package) is not followed: how a run is described, tagged, shown
or scheduled does not change what a task writes, so editing it must not recompute anyone's
outputs. The one part of the engine that does shape an output folder (staging, the manifest,
the publish step) is covered by ``OUTPUT_FORMAT`` instead, which
``tests/unit/outputs/test_output_format.py`` forces to be bumped when that code changes.

Equal signatures mean an output can be reused; the parts are kept too, so that a difference
can be explained ("parameter Trainer.seed 0 -> 1").
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from importlib.util import resolve_name
from pathlib import Path
from typing import Any

from framework.outputs.folder import sha256_of

LIBRARIES = ("numpy", "pandas", "scikit-learn", "pyarrow", "mlflow")
ENGINE_PACKAGE = "framework"  # never followed into a task's code digests (see the module)
# The version of the way the engine writes an output folder. Bump it when the code that writes
# one changes what the folder holds: every output in every store is then recomputed once.
OUTPUT_FORMAT = "2"


@dataclass(frozen=True)
class Signature:
    """A task's signature and the parts it was computed from."""

    task: str
    params: Mapping[str, str]
    upstream: Mapping[str, str]
    inputs: Mapping[str, str]
    code: Mapping[str, str]
    libraries: Mapping[str, str] = field(default_factory=dict)
    engine: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.parts(), sort_keys=True).encode()).hexdigest()

    def parts(self) -> dict[str, Any]:
        return {"task": self.task, "params": dict(self.params), "upstream": dict(self.upstream),
                "inputs": dict(self.inputs), "code": dict(self.code),
                "libraries": dict(self.libraries), "engine": dict(self.engine)}

    @classmethod
    def from_parts(cls, parts: Mapping[str, Any]) -> Signature:
        return cls(parts["task"], parts["params"], parts["upstream"], parts["inputs"],
                   parts["code"], parts.get("libraries", {}), parts.get("engine", {}))


def engine_version() -> dict[str, str]:
    """The engine's part of every signature: the output format (see the module)."""
    return {"output format": OUTPUT_FORMAT}


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour decides results (and Python's)."""
    versions = {"python": ".".join(map(str, sys.version_info[:2]))}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_of(path)


def input_digests(paths: Iterable[Path]) -> dict[str, str]:
    """SHA-256 of each raw input file, keyed by file name; cached per file version."""
    digests = {}
    for path in paths:
        stat = path.stat()
        digests[path.name] = _file_digest(path.resolve(), stat.st_size, stat.st_mtime_ns)
    return digests


def strip_docstrings(tree: ast.AST) -> ast.AST:
    """Docstrings are documentation: editing, adding or removing one must not count."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            del body[0]
            if not body:
                body.append(ast.Pass())
    return tree


@cache
def _module_tree(path: Path, package: str) -> tuple[str, tuple[str, ...]]:
    """(digest of the normalised syntax tree, names of the modules it imports).

    ``package`` resolves relative imports. ``from a import b`` yields both ``a`` and ``a.b``,
    since ``b`` may be a module; names that are not project modules are ignored later.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_name("." * node.level + (node.module or ""), package or "_")
            imported.append(base)
            imported.extend(f"{base}.{alias.name}" for alias in node.names)
    digest = hashlib.sha256(ast.dump(strip_docstrings(tree)).encode()).hexdigest()
    return digest, tuple(imported)


def _project_file(module: str, source_root: Path) -> Path | None:
    """The file of ``module`` when it is part of the project (under ``source_root``) and not
    of the engine."""
    if module.split(".")[0] == ENGINE_PACKAGE:
        return None
    base = source_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def code_digests(modules: Iterable[str], source_root: Path) -> dict[str, str]:
    """Digest of each of ``modules`` and of every project module they import, transitively.

    Keys are paths relative to ``source_root`` (e.g. ``tasks/trainer.py``); the engine's
    modules are left out (see the module docstring). A package's
    ``__init__.py`` counts, but what it imports does not: ``tasks/__init__.py`` imports every
    task, and editing one task must not change the others' signatures. Computed once per
    process (a sweep plans every configuration, twice): the code that runs is the code this
    process imported when it started, like the syntax trees ``_module_tree`` keeps.
    """
    return dict(_project_code(tuple(modules), source_root)[0])


def code_imports(modules: Iterable[str], source_root: Path) -> list[str]:
    """What the code ``code_digests`` covers imports from outside the project and the engine,
    anywhere in it (function bodies too): the modules running that code may import. In the
    order found; a name may be no module (``from a import f`` gives ``a`` and ``a.f``)."""
    return list(_project_code(tuple(modules), source_root)[1])


@cache
def _project_code(modules: tuple[str, ...], source_root: Path
                  ) -> tuple[dict[str, str], tuple[str, ...]]:
    """(code digests, the names those files import that are not project modules)."""
    digests: dict[str, str] = {}
    outside: dict[str, None] = {}
    pending = [(module, True) for module in modules]
    while pending:
        name, follow = pending.pop()
        path = _project_file(name, source_root)
        if path is None:
            top = name.split(".")[0]
            if follow and top != ENGINE_PACKAGE and not (
                    (source_root / top).is_dir() or (source_root / f"{top}.py").is_file()):
                outside[name] = None  # not a project name (``tasks.trainer.Trainer`` is one)
            continue
        key = str(path.relative_to(source_root))
        if key in digests:
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        digests[key], imported = _module_tree(path, package)
        parents = {".".join(name.split(".")[:depth]) for depth in range(1, name.count(".") + 1)}
        pending.extend((parent, False) for parent in parents)
        if follow:
            pending.extend((child, True) for child in imported)
    return digests, tuple(outside)


def explain(old: Signature, new: Signature) -> list[str]:
    """What changed between two signatures of one task, one phrase per difference."""
    # A borrowed parameter is named by its own task already (``Trainer.seed``).
    changes = [f"parameter {key if '.' in key else f'{new.task}.{key}'} "
               f"{old.params.get(key, '(unset)')} -> "
               f"{new.params.get(key, '(unset)')}"
               for key in sorted(set(old.params) | set(new.params))
               if old.params.get(key) != new.params.get(key)]
    changes += [f"upstream {name} changed" for name in sorted(set(old.upstream) | set(new.upstream))
                if old.upstream.get(name) != new.upstream.get(name)]
    changes += [f"input {name} changed" for name in sorted(set(old.inputs) | set(new.inputs))
                if old.inputs.get(name) != new.inputs.get(name)]
    changes += [f"code of {name} changed" for name in sorted(set(old.code) | set(new.code))
                if old.code.get(name) != new.code.get(name)]
    changes += [f"library {name} {old.libraries.get(name)} -> {new.libraries.get(name)}"
                for name in sorted(set(old.libraries) | set(new.libraries))
                if old.libraries.get(name) != new.libraries.get(name)]
    changes += [f"engine {name} {old.engine.get(name, '(unset)')} -> "
                f"{new.engine.get(name, '(unset)')}"
                for name in sorted(set(old.engine) | set(new.engine))
                if old.engine.get(name) != new.engine.get(name)]
    return changes
