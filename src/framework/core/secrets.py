"""Keeping secrets out of everything the runner logs or prints.

A secret is:
- the value of an environment variable whose name contains SECRET, TOKEN, PASSWORD, PASSWD,
  KEY or CREDENTIAL (however it got there: the shell, ``.env`` or ``.env.local``);
- every value ``.env.local`` sets (that file exists to hold secrets), except the runner's own
  settings such as ``MLFLOW_TRACKING_URI``, whose credentials are still removed;
- the password part of any URI written ``scheme://user:password@host``.

``redact`` replaces them with ``***``. The tracking module passes every param, tag, text and
text artifact through it, so no secret reaches the store; the command line passes its error
lines through it. Short values (under ``MIN_LENGTH``), booleans, numbers and existing paths are
not treated as secrets: masking every ``true`` or ``/home/me`` would corrupt the record
without protecting anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
URI_CREDENTIALS = re.compile(
    r"(?P<prefix>[a-z][a-z0-9+.\-]*://[^\s/:@'\"]*):(?P<password>[^\s/@'\"]+)@", re.IGNORECASE)
MASK = "***"
MIN_LENGTH = 6
# Settings of the runner itself: not secrets, though a URI among them may embed one.
PUBLIC_SETTINGS = frozenset({
    "LUIGI_CONFIG_PATH", "LUIGI_CONFIG_PARSER", "MLFLOW_TRACKING_URI",
    "MLFLOW_DISABLE_TELEMETRY", "MLFLOW_LOGGING_LEVEL", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
    "GIT_PYTHON_REFRESH",
})

_registered: set[str] = set()


def register(values: Iterable[str]) -> None:
    """Treat ``values`` (e.g. everything ``.env.local`` set) as secrets from now on."""
    _registered.update(value for value in values if looks_secret(value))


def looks_secret(value: str) -> bool:
    """False for values that cannot be worth hiding and would mangle the record if masked."""
    if len(value) < MIN_LENGTH or value.lower() in ("true", "false", "none", "null"):
        return False
    try:
        float(value)
        return False
    except ValueError:
        pass
    return not (value.startswith(("/", "~", ".")) and os.path.exists(os.path.expanduser(value)))


def secret_values() -> list[str]:
    """Every secret known now, longest first (so a longer one is masked whole)."""
    values = set(_registered)
    for name, value in os.environ.items():
        if SECRET_NAME.search(name) and name not in PUBLIC_SETTINGS and looks_secret(value):
            values.add(value)
        values.update(match["password"] for match in URI_CREDENTIALS.finditer(value))
    encoded = {quote(value, safe="") for value in values}
    return sorted(values | encoded, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with URI passwords and every known secret value replaced by ``***``."""
    text = URI_CREDENTIALS.sub(lambda match: f"{match['prefix']}:{MASK}@", text)
    for value in secret_values():
        text = text.replace(value, MASK)
    return text


def redact_tree(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(item) for item in value]
    return value


def redacted_copy(path: Path, scratch: Path) -> Path:
    """``path`` itself when it holds no secret (or is not text), else a redacted copy of it,
    with the same name, inside the folder ``scratch``."""
    if not path.is_file():
        return path
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return path  # binary: task outputs and models, which never hold the environment
    clean = redact(text)
    if clean == text:
        return path
    copy = scratch / path.name
    copy.write_text(clean, encoding="utf-8")
    return copy
