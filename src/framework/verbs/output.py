"""Tables for the terminal (rich: fits the terminal's width), and csv, json or markdown."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "md")
READABLE = 10  # a column that wraps is never folded narrower (unless its content is)
# Characters a terminal acts on instead of showing: C0 controls but newline, DEL, C1, the
# bidirectional marks and overrides that reorder what is shown ("Trojan Source"), invisible
# zero-width ones and line separators. A param, tag or config value is anyone's text (a team
# server, a --set), so the table and md show them escaped.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     "\u2066-\u2069\ufeff]")


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def visible(text: str) -> str:
    """``text`` with every ``CONTROL`` character written as its escape (``\\x1b``)."""
    return CONTROL.sub(lambda match: match[0].encode("unicode_escape").decode(), text)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                stream: TextIO | None = None, no_wrap: Sequence[str] = (),
                optional: Sequence[str] = (),
                left_out: Callable[[list[str]], str] | None = None) -> None:
    """A rich table that fits the terminal's width: columns shrink and wrap, never below
    ``floor`` (no hand-made padding). When they cannot all fit, ``optional`` columns are left
    out whole, the last of ``optional`` first, and ``left_out(names)`` (in the order of
    ``optional``) says so below."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not str: rich would read a value's "[red]" as markup, and "[/x]" would crash it.
    def shown(value: Any) -> Text:
        return Text(visible(cell(value)))

    class PipeAwareConsole(Console):
        # rich's own exits 1, a failed run's code: the command line answers a gone reader (141).
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "reader gone")

    console = PipeAwareConsole(file=stream or sys.stdout, soft_wrap=False)
    floors = {name: floor([visible(cell(row[i])) for row in rows], visible(name),
                          name in no_wrap) for i, name in enumerate(columns)}
    kept = fitting(floors, optional, console.width)
    fits = width_at_floors([floors[name] for name in kept]) <= console.width
    hidden = [name for name in optional if name not in kept]
    table = Table(title=shown(title) if title else None, title_justify="left",
                  show_lines=False, expand=False,
                  caption=shown(left_out(hidden)) if hidden and left_out else None,
                  caption_justify="left")
    for name in kept:
        values = [row[columns.index(name)] for row in rows]
        numeric = bool(rows) and all(isinstance(v, int | float) or v is None for v in values)
        table.add_column(shown(name), justify="right" if numeric else "left", overflow="fold",
                         no_wrap=name in no_wrap, min_width=floors[name] if fits else None)
    for row in rows:
        table.add_row(*(shown(row[columns.index(name)]) for name in kept))
    console.print(table)


def floor(cells: Sequence[str], header: str, no_wrap: bool = False) -> int:
    """The narrowest a column may get: its widest line when it may not wrap or is narrower
    than ``READABLE``, else ``READABLE`` (folded narrower, a header reads letter by letter)."""
    from rich.cells import cell_len

    widest = max(cell_len(line) for text in [header, *cells] for line in text.splitlines() or [""])
    return widest if no_wrap else min(widest, READABLE)


def fitting(floors: Mapping[str, int], optional: Sequence[str], width: int) -> list[str]:
    """The columns of ``floors`` (in order) that fit ``width`` at their floors: every column
    not in ``optional``, then as many of ``optional``, in its order, as fit."""
    chosen = {name for name in floors if name not in optional}
    for name in optional:
        if width_at_floors([floors[other] for other in chosen | {name}]) > width:
            break
        chosen.add(name)
    return [name for name in floors if name in chosen]


def width_at_floors(floors: Iterable[int]) -> int:
    """The width of a rich table (its default box) with columns this wide: a border after
    each and one before the first, and a space of padding either side of every column."""
    return 1 + sum(width + 3 for width in floors)


def markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def escape(text: str) -> str:
        return visible(text.replace("|", "\\|").replace("\n", " "))

    lines = ["| " + " | ".join(escape(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(escape(cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as csv, each cell quoted when it holds a comma, quote or line break (a reason
    like "deleted (purged, as mlflow gc does)" is one cell, not two)."""
    text = io.StringIO()
    minimal = csv.writer(text, lineterminator="\n")
    # Before Python 3.11.9 a bare carriage return is not quoted with a "\n" line end.
    every = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [cell(v) for v in row]
        (every if any("\r" in c for c in cells) else minimal).writerow(cells)
    return text.getvalue().rstrip("\n")


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
