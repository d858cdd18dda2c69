"""MLflow's ``order_by`` for runs, in the simple forms the sqlite reader sorts by itself.

``runs --sort`` takes MLflow's order syntax. ``parse_sort`` reads the common forms
(``metrics.cv_accuracy_mean DESC``, ``params.Trainer.seed``, a key in backticks,
``attributes.start_time``) exactly as MLflow's parser does, and returns None for anything
else, which then goes to MLflow's own parser (and its error messages). Stdlib only: no MLflow
import. tests/unit/store/test_sql_reader.py checks every form read here against MLflow's
parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Entity names as MLflow's search grammar spells them; plain keys are dotted names, quoted keys
# a few safe characters in backticks; one space before ASC or DESC.
NAME = r"[A-Za-z][A-Za-z0-9_]*"
# Words sqlparse (under MLflow's parser) reads as keywords even after a dot: MLflow refuses
# ``params.from``, so a plain key holding one is left to MLflow.
KEYWORDS = {"case", "in", "values", "using", "from", "as"}
SORT = re.compile(rf"(?P<kind>[a-z]+)\.(?:`(?P<quoted>[A-Za-z0-9_ .:/-]+)`|"
                  rf"(?P<plain>{NAME}(?:\.{NAME})*))(?: (?P<order>(?i:asc|desc)))?")
SORT_KINDS = {kind: table for table, kinds in (
    ("latest_metrics", "metric metrics"), ("params", "param params parameter parameters"),
    ("tags", "tag tags"), ("runs", "attribute attributes attr run")) for kind in kinds.split()}
SORT_ATTRIBUTES = {"start_time", "end_time"}  # other attributes (status, run_name): MLflow
# MLflow renames these keys of any kind before sorting (``metrics.created`` sorts by the
# metric ``start_time``), so the reader does too.
KEY_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
               "Run name": "run_name", "Run Name": "run_name"}


@dataclass(frozen=True)
class SortKey:
    """One ``--sort`` clause: a column of ``runs`` or a key of ``table``, and its direction."""

    table: str  # runs, latest_metrics, params or tags
    key: str
    ascending: bool


def parse_sort(text: str) -> SortKey | None:
    """``text`` as MLflow's ``order_by`` parser reads it, for the simple forms only; None for
    anything else (MLflow then parses it, and names what is wrong)."""
    found = SORT.fullmatch(text)
    if found is None or found["kind"] not in SORT_KINDS:
        return None
    table, key = SORT_KINDS[found["kind"]], found["quoted"] or found["plain"]
    if found["plain"] and KEYWORDS & {part.lower() for part in key.split(".")}:
        return None
    key = KEY_ALIASES.get(key, key)
    if table == "runs" and key not in SORT_ATTRIBUTES:
        return None
    return SortKey(table, key, (found["order"] or "asc").lower() == "asc")
