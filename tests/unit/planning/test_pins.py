"""``[PathConfig]`` pins before any store is open: folders resolved and checked, ``runs:/``
entries set aside for the store, and two tasks never pinned to one folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config.file import from_document
from framework.core.errors import UserError
from framework.planning.pins import check_distinct_folders

RUN_CONFIG = {"experiment_name": "e", "task": "Trainer"}


def read(project: Path, paths: dict[str, object]):
    return from_document(project / "luigi.toml",
                         {"RunConfig": RUN_CONFIG, "PathConfig": paths}, project, {})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "input").mkdir()
    return tmp_path


def test_two_tasks_pinned_to_one_folder_are_refused(tmp_path: Path):
    (tmp_path / "shared").mkdir()
    pins = {"Preprocessor": tmp_path / "shared", "Trainer": tmp_path / "x" / ".." / "shared"}
    with pytest.raises(UserError) as refused:
        check_distinct_folders(pins)
    assert str(refused.value) == (
        f"PathConfig.Preprocessor and PathConfig.Trainer name the same folder "
        f"{tmp_path / 'x' / '..' / 'shared'}; give each task its own folder")


def test_a_symlink_to_another_pin_is_the_same_folder(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UserError, match=r"^PathConfig\.A and PathConfig\.B name the same"):
        check_distinct_folders({"A": tmp_path / "real", "B": tmp_path / "link"})


def test_distinct_folders_pass(tmp_path: Path):
    check_distinct_folders({"A": tmp_path / "a", "B": tmp_path / "b"})
    check_distinct_folders({})


def test_run_uris_are_kept_for_the_store_and_folders_resolved_from_the_project(project: Path):
    (project / "pins" / "Trainer").mkdir(parents=True)
    config = read(project, {"Trainer": "pins/Trainer", "Preprocessor": "runs:/abc123",
                            "Evaluator": "runs:/abc123/Evaluator/"})
    assert config.pins == {"Trainer": (project / "pins" / "Trainer").resolve()}
    # Nothing about a run is checked yet: that needs the store (planning/pins.py).
    assert config.run_pins == {"Preprocessor": "runs:/abc123",
                               "Evaluator": "runs:/abc123/Evaluator/"}
    assert config.input_dir == (project / "input").resolve()


def test_the_input_folder_defaults_to_input_and_may_be_elsewhere(project: Path):
    (project / "data").mkdir()
    assert read(project, {}).input_dir == (project / "input").resolve()
    assert read(project, {"input": str(project / "data")}).input_dir == (
        project / "data").resolve()


def test_a_pin_that_is_no_folder_is_refused_with_where_it_points(project: Path):
    (project / "file.txt").write_text("not a folder")
    with pytest.raises(UserError) as refused:
        read(project, {"Trainer": "file.txt"})
    assert str(refused.value) == (
        f"{project / 'luigi.toml'}: PathConfig.Trainer = 'file.txt' points to "
        f"{project / 'file.txt'}, which is not a folder; fix the path or remove the entry")


@pytest.mark.parametrize("value", [3, "", ["a"], True])
def test_a_pin_that_is_no_path_string_is_refused(project: Path, value: object):
    with pytest.raises(UserError) as refused:
        read(project, {"Trainer": value})
    assert str(refused.value) == (
        f"{project / 'luigi.toml'}: PathConfig.Trainer must be a folder path string")


def test_a_missing_input_folder_is_refused(tmp_path: Path):
    with pytest.raises(UserError, match=r"PathConfig\.input = './input/' points to .*, which is "
                                        r"not a folder; fix the path or remove the entry$"):
        read(tmp_path, {})
