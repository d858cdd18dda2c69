"""Task folders: complete only when every file matches the manifest written last."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.outputs.folder import MANIFEST, OutputFolder


def write(folder: OutputFolder, files: dict[str, str]) -> None:
    with folder.writing({"run_id": "r1"}) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)


def test_a_written_folder_is_complete_and_lists_every_file(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer")
    assert not folder.exists()
    write(folder, {"model/model.pkl": "weights", "notes.txt": "hi"})
    assert folder.exists()
    manifest = folder.manifest()
    assert manifest is not None
    assert set(manifest["files"]) == {"model/model.pkl", "notes.txt"}
    assert manifest["run_id"] == "r1"
    assert [p.name for p in folder.path.iterdir() if p.name.startswith(".")] == []


def test_an_exception_mid_write_publishes_nothing(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer")
    with pytest.raises(RuntimeError), folder.writing({}) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("crash")
    assert not folder.exists()
    assert list(folder.path.iterdir()) == []
    assert folder.is_empty()


def test_a_changed_or_missing_file_makes_the_folder_incomplete(tmp_path: Path):
    changed = OutputFolder(tmp_path / "changed", "Trainer")
    write(changed, {"a.txt": "one", "b.txt": "two"})
    (changed.path / "a.txt").write_text("ONE")
    assert "checksum" in (changed.problem() or "")
    missing = OutputFolder(tmp_path / "missing", "Trainer")
    write(missing, {"a.txt": "one", "b.txt": "two"})
    assert missing.exists()
    (missing.path / "b.txt").unlink()
    assert "missing" in (missing.problem() or "")


def test_a_folder_that_holds_anything_is_never_written(tmp_path: Path):
    folder = OutputFolder(tmp_path / "Trainer", "Trainer")
    write(folder, {"a.txt": "one"})
    (folder.path / "a.txt").write_text("tampered, but someone's")
    with pytest.raises(FileExistsError):
        write(folder, {"a.txt": "new"})
    assert (folder.path / "a.txt").read_text() == "tampered, but someone's"


def test_a_folder_written_by_another_task_is_not_this_tasks_output(tmp_path: Path):
    write(OutputFolder(tmp_path / "out", "Preprocessor"), {"a.txt": "one"})
    assert "Preprocessor" in (OutputFolder(tmp_path / "out", "Trainer").problem() or "")


def test_files_without_a_manifest_are_not_complete(tmp_path: Path):
    (tmp_path / "x.txt").write_text("looks done")
    folder = OutputFolder(tmp_path, "Trainer")
    assert MANIFEST in (folder.problem() or "")
    assert not folder.is_empty()
