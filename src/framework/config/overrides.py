"""``--set``/``--sweep`` overrides: ``Section.key=value`` (or ``Section.table.key=value``) read
as TOML and applied to the experiment document, remembering which flag set what.

Plain standard library: it runs before Luigi or MLflow is imported.
"""

from __future__ import annotations

import tomllib
from typing import Any

from framework.core.errors import UserError


def parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` whose stack overflow on absurd nesting is a ``TOMLDecodeError``."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None


TOML_OPENERS = ("{", "[", '"', "'")  # a value starting so is TOML, never a bare string


def parse_override(text: str, flag: str = "--set", min_keys: int = 2
                   ) -> tuple[list[str], Any]:
    """Split ``Section.key=value`` into its keys and value; the value is read as TOML, else as
    a string.

    ``Trainer.seed=1`` gives the integer 1, ``Preprocessor.scale_numeric=true`` a boolean, and
    ``Trainer.estimator=sklearn.svm.SVC`` the bare string. ``Trainer.estimator_params.max_depth``
    addresses one key inside a table parameter. A value that opens as TOML does (a table, a
    list, a quoted string) must be TOML: ``UserError`` otherwise. ``min_keys``: how many dotted
    keys the target needs (1 for ``--sweep method=tpe``).
    """
    target, sep, raw_value = text.partition("=")
    keys = [part.strip() for part in target.strip().split(".")]
    if not sep or len(keys) < min_keys or not all(keys):
        raise UserError(f"{flag} {text!r}: write it as Section.key=value, e.g. Trainer.seed=1, "
                        "or Section.table.key=value for one key of a table")
    raw = raw_value.strip()
    try:
        value = parse_toml(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError as error:
        if raw.startswith(TOML_OPENERS):  # meant as a table, list or quoted string: say why
            reason = str(error).split(" (at ")[0]
            shown = raw if len(raw) <= 40 else f"{raw[:40]}..."
            raise UserError(f"{flag} {target.strip()}={shown}: not a TOML value "
                            f"({reason.lower()}); write e.g. {{max_depth = 5}}, [1, 2] or "
                            '"text"') from None
        value = raw  # a bare word: the string itself (Trainer.estimator=sklearn.svm.SVC)
    return keys, value


def assign(document: dict[str, Any], keys: list[str], value: Any, origin: str,
           origins: dict[str, str]) -> None:
    """Set ``document[Section][key]...`` to ``value`` in place, recording ``origin`` (the flag
    that set it) in ``origins``. A key below a table changes that key and keeps the rest of the
    table; tables on the way are copied, so ``document``'s own nested tables are untouched."""
    section, *path = keys
    if section not in document:
        origins.setdefault(section, origin)
    body = document.setdefault(section, {})
    if not isinstance(body, dict):
        raise UserError(f"{origin}: {section} is not a [section] in the config")
    for depth, key in enumerate(path[:-1], start=2):
        inner = body.get(key, {})
        if not isinstance(inner, dict):
            raise UserError(f"{origin}: {'.'.join(keys[:depth])} = {inner!r} is not a table; "
                            f"set it whole instead, e.g. {'.'.join(keys[:depth])}={{...}}")
        body[key] = dict(inner)
        body = body[key]
    body[path[-1]] = value
    key = ".".join(keys[:2])
    # Flags that each set a key below one table all made its value: each is named.
    origins[key] = f"{origins[key]} {origin}" if len(keys) > 2 and key in origins else origin


def apply_overrides(document: dict[str, Any], overrides: list[str],
                    origins: dict[str, str] | None = None) -> dict[str, Any]:
    """Return a copy of ``document`` with each ``--set Section.key=value`` applied."""
    merged = {name: dict(body) if isinstance(body, dict) else body
              for name, body in document.items()}
    for text in overrides:
        keys, value = parse_override(text)
        assign(merged, keys, value, f"--set {text!r}", {} if origins is None else origins)
    return merged
