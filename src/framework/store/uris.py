"""What a tracking or artifact URI names on this machine, with the standard library only.

Kept apart from ``tracking`` and ``connection`` (which import MLflow) so the read-only verbs
(``framework.store.sql_reader``) can find a sqlite store and a run's artifact folder without
importing MLflow; those modules re-export both names.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI, None for any other store."""
    return Path(uri.removeprefix(SQLITE_PREFIX)) if uri.startswith(SQLITE_PREFIX) else None


def local_path(uri: str) -> Path | None:
    """The local folder an artifact URI names, or None for a remote store."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None
