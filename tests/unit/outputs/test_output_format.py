"""The engine's output format is bumped whenever the code that writes an output changes.

Task signatures leave the engine out (framework/outputs/signature.py), so an edit there never
recomputes a user's outputs; the price is this guard. The code that decides what a task's
output folder holds (everything in ``framework/outputs/folder.py`` and ``RunTask.run``) is
fingerprinted as syntax trees without docstrings. When the fingerprint changes:
- if the change alters what an output folder holds (files, manifest keys, the publish step),
  bump ``OUTPUT_FORMAT`` in framework/outputs/signature.py (every store recomputes once) and
  record the new fingerprint under the new format below;
- if it does not (a refactoring, a clearer error message), record the new fingerprint under
  the current format and say why in the commit.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from framework.outputs import signature

SRC = Path(__file__).resolve().parents[3] / "src" / "framework"
# OUTPUT_FORMAT -> fingerprints of the output-writing code that format was released with.
KNOWN = {
    "2": {"8641044fe3272dd3",  # with entry checks and the team-key signature tag
          "fbc86370282ed37e"},  # RunTask.run first raises a Ctrl-C Luigi's events swallowed
}


def _method(path: Path, cls: str, name: str) -> ast.AST:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return item
    raise AssertionError(f"{cls}.{name} not found in {path}")


def fingerprint() -> str:
    parts = [ast.parse((SRC / "outputs" / "folder.py").read_text()),
             _method(SRC / "task" / "run_task.py", "RunTask", "run")]
    text = "\n".join(ast.dump(signature.strip_docstrings(part)) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_output_writing_code_changes_only_with_a_recorded_fingerprint() -> None:
    current = fingerprint()
    known = KNOWN.get(signature.OUTPUT_FORMAT, set())
    assert current in known, (
        f"the code that writes task outputs changed (fingerprint {current}); if what an output "
        f"folder holds changed, bump OUTPUT_FORMAT (now {signature.OUTPUT_FORMAT}) in "
        "framework/outputs/signature.py, else record the fingerprint under the current format "
        "in tests/unit/outputs/test_output_format.py")


def test_the_engine_is_not_part_of_a_task_code_digest() -> None:
    digests = signature.code_digests(["tasks.trainer"], SRC.parent)
    assert "tasks/trainer.py" in digests
    assert "tabular/estimators.py" in digests  # the user's ML code is followed
    assert not [key for key in digests if key.startswith("framework")]
