"""Code fingerprints: what the code does counts; comments, layout and docstrings do not."""

from __future__ import annotations

from pathlib import Path

from framework.outputs.signature import Signature, code_digests, code_imports, explain

TASK = '''"""A task."""
from mypkg import helper


def run():
    return helper.VALUE
'''


def make_project(root: Path, helper: str = "VALUE = 1\n") -> Path:
    (root / "mypkg").mkdir(parents=True, exist_ok=True)
    (root / "mypkg" / "__init__.py").write_text("")
    (root / "mypkg" / "helper.py").write_text(helper)
    (root / "mypkg" / "other.py").write_text("UNRELATED = 1\n")
    (root / "task_module.py").write_text(TASK)
    return root


def test_imported_project_modules_count_and_others_do_not(tmp_path: Path):
    digests = code_digests(["task_module"], make_project(tmp_path))
    assert set(digests) == {"task_module.py", "mypkg/__init__.py", "mypkg/helper.py"}


def test_code_imports_are_what_the_covered_code_imports_from_outside(tmp_path: Path):
    root = make_project(tmp_path)
    (root / "mypkg" / "helper.py").write_text(
        "import json\nVALUE = 1\n\n\ndef load():\n    from sklearn.pipeline import Pipeline\n"
        "    from framework.core import names\n    return Pipeline, names\n")
    found = code_imports(["task_module"], root)
    assert {"json", "sklearn.pipeline", "sklearn.pipeline.Pipeline"} <= set(found)
    assert not [name for name in found if name.split(".")[0] in ("mypkg", "framework")]


def test_comments_layout_and_docstrings_do_not_change_the_fingerprint(tmp_path: Path):
    before = code_digests(["task_module"], make_project(tmp_path / "a"))
    reformatted = '"""Now documented."""\n\n# a comment\nVALUE = (\n    1\n)\n'
    after = code_digests(["task_module"], make_project(tmp_path / "b", reformatted))
    assert before == after


def test_editing_a_helper_changes_the_fingerprint(tmp_path: Path):
    before = code_digests(["task_module"], make_project(tmp_path / "a"))
    after = code_digests(["task_module"], make_project(tmp_path / "b", "VALUE = 2\n"))
    assert before["task_module.py"] == after["task_module.py"]
    assert before["mypkg/helper.py"] != after["mypkg/helper.py"]


def test_explain_names_each_difference():
    old = Signature("Trainer", {"seed": "0"}, {"Preprocessor": "a"}, {"train.csv": "x"},
                    {"tasks/trainer.py": "c"})
    new = Signature("Trainer", {"seed": "1"}, {"Preprocessor": "a"}, {"train.csv": "y"},
                    {"tasks/trainer.py": "d"})
    assert explain(old, new) == ["parameter Trainer.seed 0 -> 1", "input train.csv changed",
                                 "code of tasks/trainer.py changed"]
    assert old.digest != new.digest
    assert Signature.from_parts(old.parts()).digest == old.digest


def test_a_borrowed_parameter_is_named_by_its_own_task():
    """The Evaluator's signature holds the Trainer's settings of the model it cross-validates."""
    old = Signature("Evaluator", {"folds": "5", "Trainer.seed": "0"}, {}, {}, {})
    new = Signature("Evaluator", {"folds": "5", "Trainer.seed": "1"}, {}, {}, {})
    assert explain(old, new) == ["parameter Trainer.seed 0 -> 1"]
    assert old.digest != new.digest
