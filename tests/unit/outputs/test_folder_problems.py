"""Output folders, the parts ``tests/test_outputs.py`` leaves out: required entries, what
``problem()`` says for each way a folder is incomplete, and removing a dead writer's staging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framework.outputs.folder import (
    MANIFEST,
    STAGING_PREFIX,
    OutputFolder,
    missing_required,
    remove_stale_staging,
)


def write(folder: OutputFolder, files: dict[str, str]) -> OutputFolder:
    with folder.writing({"run_id": "r1"}) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
    return folder


@pytest.mark.parametrize(("required", "files", "missing"), [
    ((), [], None),
    (("model",), ["model/MLmodel", "a.txt"], None),
    (("model/",), ["model/MLmodel"], None),
    (("/a.txt",), ["a.txt"], None),
    (("model",), ["modelx/MLmodel", "model.txt"], "model"),
    (("a.txt", "b.txt"), ["a.txt"], "b.txt"),
    (("b.txt", "c.txt"), [], "b.txt"),
])
def test_the_first_required_entry_absent_is_named(required: tuple[str, ...], files: list[str],
                                                  missing: str | None):
    assert missing_required(required, files) == missing


def test_a_task_that_did_not_write_a_required_entry_publishes_nothing(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer", ("model",))
    with pytest.raises(RuntimeError, match=r"^Trainer wrote no model, which it must produce$"):
        write(folder, {"notes.txt": "no model"})
    assert list(folder.path.iterdir()) == []


def test_a_refusal_just_before_publishing_publishes_nothing(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer")

    def runner_gone() -> None:
        raise ProcessLookupError("the runner is gone")

    with pytest.raises(ProcessLookupError), folder.writing({}, before_publish=runner_gone) as out:
        (out / "a.txt").write_text("done")
    assert list(folder.path.iterdir()) == []


def test_each_way_of_being_incomplete_has_its_own_problem(tmp_path: Path):
    unlisted = write(OutputFolder(tmp_path / "unlisted", "T"), {"a.txt": "a"})
    (unlisted.path / "extra.txt").write_text("added later")
    assert unlisted.problem() == f"{unlisted.path / 'extra.txt'} is not listed in {MANIFEST}"

    write(OutputFolder(tmp_path / "lacking", "T"), {"a.txt": "a"})
    lacking = OutputFolder(tmp_path / "lacking", "T", ("model",))
    assert lacking.problem() == f"{lacking.path} lacks model, which a T output must hold"

    listless = tmp_path / "listless"
    listless.mkdir()
    (listless / MANIFEST).write_text(json.dumps({"task": "T"}))
    assert OutputFolder(listless, "T").problem() == f"{MANIFEST} in {listless} lists no files"

    not_a_table = tmp_path / "list"
    not_a_table.mkdir()
    (not_a_table / MANIFEST).write_text("[1, 2]")
    folder = OutputFolder(not_a_table, "T")
    assert folder.manifest() is None
    assert folder.problem() == f"no readable {MANIFEST} in {not_a_table}"

    other = write(OutputFolder(tmp_path / "other", "Other"), {"a.txt": "a"})
    assert OutputFolder(other.path, "T").problem() == (
        f"{other.path} holds output of 'Other', not 'T'")


def test_the_manifest_digest_is_that_of_its_bytes_and_none_without_one(tmp_path: Path):
    import hashlib

    folder = write(OutputFolder(tmp_path / "T", "T"), {"a.txt": "a"})
    assert folder.manifest_digest() == hashlib.sha256(
        (folder.path / MANIFEST).read_bytes()).hexdigest()
    assert OutputFolder(tmp_path / "none", "T").manifest_digest() is None


def test_a_folder_holding_only_staging_leftovers_is_empty(tmp_path: Path):
    folder = OutputFolder(tmp_path / "T", "T")
    assert folder.is_empty()  # missing
    (folder.path / f"{STAGING_PREFIX}1-x").mkdir(parents=True)
    assert folder.is_empty()
    (folder.path / ".hidden").write_text("a user's")
    assert not folder.is_empty()


def staging(root: Path, task: str, name: str) -> Path:
    folder = root / task / f"{STAGING_PREFIX}{name}"
    folder.mkdir(parents=True)
    (folder / "half.txt").write_text("half")
    return folder


def test_only_dead_writers_staging_is_removed_and_their_empty_task_folders(tmp_path: Path):
    alive = staging(tmp_path, "Alive", "100-a")
    dead = staging(tmp_path, "Dead", "200-b")
    beside_output = staging(tmp_path, "Done", "300-c")
    (tmp_path / "Done" / "result.txt").write_text("a real output")
    unnamed = staging(tmp_path, "Odd", "nopid-d")
    asked: list[tuple[int, float]] = []

    def writer_alive(pid: int, mtime: float) -> bool:
        asked.append((pid, mtime))
        return pid == 100

    removed = remove_stale_staging(tmp_path, writer_alive)
    assert removed == [dead, beside_output]
    assert sorted(pid for pid, _ in asked) == [100, 200, 300]
    assert (100, alive.stat().st_mtime) in asked  # the folder's age tells a reused pid
    assert alive.is_dir() and unnamed.is_dir()  # not ours to judge: kept
    assert not (tmp_path / "Dead").exists()
    assert (tmp_path / "Done" / "result.txt").is_file() and not beside_output.exists()


def test_after_the_run_every_staging_folder_goes(tmp_path: Path):
    first = staging(tmp_path, "A", "100-a")
    second = staging(tmp_path, "B", "nopid-b")
    assert remove_stale_staging(tmp_path, None) == [first, second]
    assert list(tmp_path.iterdir()) == []
    assert remove_stale_staging(tmp_path, None) == []
