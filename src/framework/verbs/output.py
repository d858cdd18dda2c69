"""Tables for the terminal (rich: fits the terminal's width), and csv, json or markdown."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "md")


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                stream: TextIO | None = None, no_wrap: Sequence[str] = ()) -> None:
    """A rich table: columns shrink and wrap to the terminal's width (no hand-made padding)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, title_justify="left", show_lines=False, expand=False)
    for name in columns:
        numeric = bool(rows) and all(isinstance(row[columns.index(name)], int | float)
                                     or row[columns.index(name)] is None for row in rows)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold",
                         no_wrap=name in no_wrap)
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    Console(file=stream or sys.stdout, soft_wrap=False).print(table)


def markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(escape(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(escape(cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def plain(value: Any) -> Any:
    """``value`` with NaN as None and non-JSON types as text, for ``json.dumps``."""
    if isinstance(value, dict):
        return {str(key): plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [plain(inner) for inner in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def json_text(payload: Any) -> str:
    return json.dumps(plain(payload), indent=2, allow_nan=False)
