"""Issue 17, on one machine: manifest paths, RunConfig.modules, the claims folder, signals and
kills, --workers 0, a moved project, and the signing primitives (the attack through a team
server is in test_trust_server.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from framework.core.errors import UserError
from framework.core.names import manifest_signature_tag
from framework.outputs.folder import MANIFEST, OutputFolder
from support.project import Project, copy_project, one_line_error, task_lines, use_probes

BROWSER_SCRIPT = "#!/bin/sh\ntouch \"$(dirname \"$0\")/browser-opened\"\n"


def plan_line(stdout: str, task: str) -> str:
    return task_lines(stdout)[task][0]


def published(folder: Path, files: dict[str, bytes]) -> OutputFolder:
    output = OutputFolder(folder, "Scorer")
    with output.writing({"run_id": "r1"}) as staging:
        for name, data in files.items():
            (staging / name).write_bytes(data)
    return output


def list_in_manifest(folder: Path, name: str, source: Path) -> None:
    """A careful forger: ``name`` listed with the right size and checksum of ``source``."""
    manifest = json.loads((folder / MANIFEST).read_text())
    data = source.read_bytes()
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / MANIFEST).write_text(json.dumps(manifest))


# --- 6. manifest entries: relative paths inside the folder, regular files, no symlinks ------

def test_manifest_entries_outside_the_folder_or_symlinked_are_refused(tmp_path: Path):
    outside = tmp_path / "outside.json"
    outside.write_bytes(b'{"score": 0.5}')
    linked = published(tmp_path / "linked", {"metrics.json": b'{"score": 0.5}'})
    assert linked.exists()
    (linked.path / "metrics.json").unlink()
    (linked.path / "metrics.json").symlink_to(outside)  # identical bytes, outside the folder
    assert "metrics.json is a symlink" in (linked.problem() or "")

    for name in ("../../../../etc/passwd", "/etc/hostname", "./metrics.json", "a//b"):
        forged = published(tmp_path / f"forged{len(name)}", {"metrics.json": b"{}"})
        if Path(name).is_file():
            list_in_manifest(forged.path, name, Path(name))
        else:
            list_in_manifest(forged.path, name, forged.path / "metrics.json")
        assert f"lists {name!r}, which is not a path inside the folder" in (
            forged.problem() or ""), name

    swapped = published(tmp_path / "swapped", {"metrics.json": b"{}"})
    real = tmp_path / "manifest-elsewhere.json"
    shutil.move(swapped.path / MANIFEST, real)
    (swapped.path / MANIFEST).symlink_to(real)
    assert "_manifest.json is a symlink" in (swapped.problem() or "")
    assert swapped.manifest() is None and swapped.manifest_digest() is None


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path):
    """A project with one finished Scorer run (experiment "probes")."""
    project = copy_project(tmp_path_factory.mktemp("trust") / "project", titanic_dir)
    use_probes(project, "Scorer")
    result = project.run()
    assert result.returncode == 0, result.stderr
    (run,) = project.runs("probes")
    return project, run


def test_an_output_file_replaced_by_a_symlink_is_not_reused(scored, tmp_path: Path):
    project, run = scored
    metrics = Path(run.info.artifact_uri) / "Scorer" / "metrics.json"
    original = metrics.read_bytes()
    twin = tmp_path / "metrics.json"  # outside the project, byte for byte the same
    twin.write_bytes(original)
    metrics.unlink()
    metrics.symlink_to(twin)
    try:
        result = project.run("--dry-run")
        assert result.returncode == 0, result.stderr
        line = plan_line(result.stdout, "Scorer")
        assert line.startswith("run") and f"{metrics} is a symlink" in line, line
    finally:
        metrics.unlink()
        metrics.write_bytes(original)


def test_a_pin_listing_files_outside_its_folder_is_refused_even_when_accepted(
        scored, tmp_path: Path):
    project, _ = scored
    pin = published(tmp_path / "pin", {"metrics.json": b'{"score": 0.9}'})
    list_in_manifest(pin.path, "../../../../etc/passwd", Path("/etc/passwd"))
    result = project.run("--dry-run", "--set", f'PathConfig.Scorer="{pin.path}"',
                         "--accept-pin", "Scorer")
    assert result.returncode == 2
    assert "lists '../../../../etc/passwd', which is not a path inside the folder" in \
        one_line_error(result)


def test_a_moved_project_is_refused_before_it_writes_into_the_old_one(scored, tmp_path: Path):
    project, _ = scored
    moved = tmp_path / "moved"
    shutil.copytree(project.root, moved, symlinks=True)
    before = sorted(p.name for p in (project.root / "mlruns").iterdir())
    result = Project(moved).run("--force", "Scorer")
    assert result.returncode == 2
    line = one_line_error(result)
    assert f"experiment 'probes' keeps its artifacts in {project.root / 'mlruns'}" in line
    assert f"move the project back to {project.root}" in line
    assert len(Project(moved).runs("probes")) == 1  # no new run
    assert sorted(p.name for p in (project.root / "mlruns").iterdir()) == before


# --- 7. the claims folder ------------------------------------------------------------------

def make_immutable(folder: Path) -> bool:
    """``chattr +i``: a folder even root cannot write into; False where unsupported."""
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                          check=False).returncode == 0


def test_an_unusable_claims_folder_is_one_line_before_the_run(scored, tmp_path: Path):
    project, _ = scored
    claims = project.root / "mlruns" / "claims"
    shutil.rmtree(claims, ignore_errors=True)
    runs = len(project.runs("probes"))
    claims.write_text("not a folder")
    try:
        result = project.run("--force", "Scorer")
        assert result.returncode == 2
        assert f"{claims} is not a folder" in one_line_error(result)
    finally:
        claims.unlink()
    claims.mkdir()
    # Root writes anywhere, except into an immutable folder (or, where chattr is not
    # supported, into sysfs through a symlink).
    immutable = make_immutable(claims)
    if not immutable:
        claims.rmdir()
        claims.symlink_to("/sys")
    try:
        result = project.run("--force", "Scorer")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(claims)], check=True)
        else:
            claims.unlink()
    assert result.returncode == 2
    line = one_line_error(result)
    assert "cannot write claims in" in line and "make that folder writable" in line
    assert len(project.runs("probes")) == runs


# --- 2. RunConfig.modules: project src/ only, checked before any import ---------------------

def test_modules_outside_src_are_refused_and_never_imported(project: Project, tmp_path: Path):
    browser = tmp_path / "browser.sh"
    browser.write_text(BROWSER_SCRIPT)
    browser.chmod(0o755)
    use_probes(project, "Scorer")
    for module in ("antigravity", "this"):
        result = project.run("--dry-run", "--set", f'RunConfig.modules=["{module}"]',
                             BROWSER=str(browser))
        assert result.returncode == 2, result.stdout + result.stderr
        line = one_line_error(result)
        assert f"RunConfig.modules: '{module}' is " in line
        assert "only modules in src/ are imported" in line
        assert "Beautiful is better than ugly" not in result.stdout  # `this` was not run
    assert not (tmp_path / "browser-opened").exists()  # nor antigravity


def test_a_module_is_located_without_importing_its_parent_package(tmp_path: Path,
                                                                  monkeypatch):
    from framework.task.project_modules import check_project_module

    package = tmp_path / "trust_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise SystemExit('the parent package ran')\n")
    (package / "tasks.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    check_project_module("trust_probe_pkg.tasks", "RunConfig.modules", tmp_path)
    with pytest.raises(UserError, match=r"there is no module 'trust_probe_pkg\.nope' in src/"):
        check_project_module("trust_probe_pkg.nope", "RunConfig.modules", tmp_path)
    with pytest.raises(UserError, match=r"'json\.decoder' is .*json/__init__\.py, not a module"):
        check_project_module("json.decoder", "RunConfig.modules", tmp_path)
    import sys

    assert "trust_probe_pkg" not in sys.modules


# --- 8. small ones ---------------------------------------------------------------------------

def test_workers_0_is_one_line(project: Project):
    result = project.run("--workers", "0", "--dry-run")
    assert result.returncode == 2
    assert "--workers 0: run at least 1 task at a time" in one_line_error(result)


SLOW_TEARDOWN = '''
import atexit
import gc
import time


class SlowToFinalize:
    """Torn down once Python finalizes, i.e. after atexit, with default signal handlers."""

    def __del__(self, sleep=time.sleep):  # module globals are gone by then
        sleep(5)


keep = SlowToFinalize()
# The runner freezes its heap (nothing left to collect); a big heap that is not frozen takes
# this long to tear down, and so did the runner before it froze it.
atexit.register(gc.unfreeze)
'''


def test_a_signal_after_the_run_is_closed_never_kills_with_143(project: Project):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    project.add_module("slow_teardown", SLOW_TEARDOWN)
    use_probes(project, "Scorer", modules=("probes", "slow_teardown"))
    process = project.start()
    for line in process.stdout:
        if "browse:" in line:
            break
    time.sleep(1)  # the run is closed; before: the process was being finalized for 5 s
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    assert code in (0, 130), f"exit {code}: killed by the signal"  # 0: it had already exited
    assert "Traceback" not in process.stderr.read()
    assert project.runs("probes")[0].info.status == "FINISHED"


def test_a_killed_runner_leaves_its_scratch_folder_in_mlruns_for_the_next_run(
        project: Project, tmp_path: Path):
    project.cold = True  # signals go to a fresh interpreter, as a user's would
    system_temp = tmp_path / "tmp"
    system_temp.mkdir()
    use_probes(project, "Sleeper")
    runner = project.start("--set", "Sleeper.seconds=60", TMPDIR=str(system_temp))
    for line in runner.stdout:
        if "Sleeper        running" in line:
            break
    runner.kill()
    runner.wait(timeout=30)
    assert not list(system_temp.glob("runner-*"))
    (left,) = (project.root / "mlruns" / "scratch").glob(f"runner-{runner.pid}-*")
    assert (left / "luigi.log").is_file()
    use_probes(project, "Scorer")
    assert project.run(TMPDIR=str(system_temp)).returncode == 0
    assert not left.exists()
    assert not list((project.root / "mlruns" / "scratch").iterdir())


def test_scratch_folders_of_live_runners_stay(tmp_path: Path):
    from framework.core.scratch import remove_orphans, scratch_folder

    dead = tmp_path / "runner-999999999-x"  # no such pid
    dead.mkdir()
    with scratch_folder(tmp_path) as mine:
        assert mine.name.startswith(f"runner-{os.getpid()}-")
        assert not dead.exists()  # swept when a run starts
        dead.mkdir()
        assert remove_orphans(tmp_path) == [dead]
        assert mine.is_dir()
    assert not mine.exists()


# --- 1. signing, the primitives (the attack itself: test_trust_server.py) ------------------

def test_a_signature_vouches_for_one_digest_under_one_key(monkeypatch):
    from framework.outputs import signing
    monkeypatch.delenv(signing.KEY_VARIABLE, raising=False)
    assert signing.signature_tags("Trainer", "d" * 64) == {}
    assert signing.refusal("r1", {}, "Trainer", "d" * 64) is None  # no key: nothing checked
    monkeypatch.setenv(signing.KEY_VARIABLE, "short")
    with pytest.raises(UserError, match="shorter than 16 characters"):
        signing.signing_key()
    monkeypatch.setenv(signing.KEY_VARIABLE, "team-key-" + "x" * 32)
    tags = signing.signature_tags("Trainer", "d" * 64)
    assert list(tags) == [manifest_signature_tag("Trainer")]
    assert signing.refusal("r1", tags, "Trainer", "d" * 64) is None
    assert signing.refusal("r1", {}, "Trainer", "d" * 64) == (
        "the output of run r1 is not signed with the team key (RUNNER_SIGNING_KEY)")
    assert "signature does not match" in (signing.refusal("r1", tags, "Trainer", "e" * 64)
                                          or "")
    monkeypatch.setenv(signing.KEY_VARIABLE, "another-key-" + "y" * 32)
    assert "signature does not match" in (signing.refusal("r1", tags, "Trainer", "d" * 64)
                                          or "")
