"""``reproduce RUN [--verify]``: run again with exactly the run's effective config.

When the run was made at another commit than the checkout's HEAD, or from a dirty tree (or
the checkout is dirty now), it is run at the run's commit in a temporary ``git worktree``
with the run's recorded ``git.diff`` applied, against this project's store and input data.
The new run is tagged ``REPRODUCES_TAG`` = the reproduced run. ``--verify`` recomputes every
task (``--no-reuse``) and compares the outputs with the original manifests (``verify.py``).
The pins the run accepted though they differed (its ``pin.accepted.<Task>`` tags) are accepted
again, as the run did; ``--accept-pin`` accepts more. A sweep's or study's parent run is
refused (``UserError``): its configurations are its child runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import file as config_file
from framework.core.errors import UserError
from framework.core.names import EFFECTIVE_CONFIG_ARTIFACT, GIT_DIFF_ARTIFACT
from framework.verbs import common, output, records

# A commit id as GitState records it (a whole SHA-1 or SHA-256, hex); a tag is anyone's text.
COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

REPRODUCES_TAG = "reproduces"  # on the new run: the id of the run it reproduces
RUN_LINE = re.compile(r"^(?:sweep )?run ([0-9a-f]{32}) in experiment")
# gitinfo appends these notes to the diff; they are not part of the patch.
NOTE_LINES = ("# changed but not logged", "# untracked files:")


def absolute_paths(document: dict[str, Any], project_root: Path) -> dict[str, Any]:
    """The config with ``[PathConfig]`` folders made absolute from ``project_root``, so a
    worktree elsewhere reads this project's data and pins."""
    paths = dict(document.get(config_file.PATH_SECTION, {}))
    for key, value in paths.items():
        if isinstance(value, str) and not value.startswith(config_file.RUN_URI_PREFIX):
            path = Path(value)
            paths[key] = str(path if path.is_absolute() else (project_root / path).resolve())
    paths.setdefault("input", str((project_root / config_file.DEFAULT_INPUT).resolve()))
    return {**document, config_file.PATH_SECTION: paths}


def patch_of(diff: str) -> tuple[str, list[str]]:
    """(the applicable patch, the notes gitinfo appended: untracked or private files)."""
    lines = diff.splitlines(keepends=True)
    cut = next((i for i, line in enumerate(lines) if line.startswith(NOTE_LINES)), len(lines))
    notes = [line.strip("# \n") for line in lines[cut:] if line.strip("# \n")]
    return "".join(lines[:cut]).rstrip("\n") + "\n", notes


def head_state(project_root: Path) -> tuple[str | None, bool]:
    from framework.core.gitinfo import read_git_state

    state = read_git_state(project_root)
    return (state.commit, state.dirty) if state else (None, False)


@contextmanager
def checkout(client: MlflowClient, run: Run, project_root: Path) -> Iterator[Path]:
    """The project folder to run in: this one, or a worktree at the run's code."""
    commit_tag, _, dirty_tag = common.git_tags()
    commit = run.data.tags.get(commit_tag)
    was_dirty = run.data.tags.get(dirty_tag) == "true"
    head, dirty_now = head_state(project_root)
    if commit is None:
        print(f"run {run.info.run_id} records no git commit: reproducing it on this checkout")
        yield project_root
        return
    if commit == head and not was_dirty and not dirty_now:
        yield project_root
        return
    if not COMMIT_ID.fullmatch(commit):  # git would read "--lock" as an option: at HEAD
        raise UserError(f"run {run.info.run_id} records git commit {commit!r}, which is not a "
                        "commit id (its tag was edited); restore the tag in the MLflow UI or "
                        "reproduce another run")
    reasons = []
    if commit != head:
        reasons.append(f"it was made at commit {commit[:12]}, this checkout is at "
                       f"{(head or 'no commit')[:12]}")
    if was_dirty:
        reasons.append("it was made from a dirty tree (its git.diff is applied)")
    if dirty_now and commit == head:
        reasons.append("this checkout has uncommitted changes")
    print(f"note: {'; '.join(reasons)}: running it at commit {commit[:12]} in a temporary "
          "git worktree", flush=True)
    with tempfile.TemporaryDirectory(prefix="reproduce-") as scratch:
        tree = Path(scratch) / "tree"
        git(project_root, "worktree", "add", "--detach", str(tree), commit,
            why=f"commit {commit[:12]} is not in this repository")
        try:
            if was_dirty:
                apply_diff(client, run, tree)
            if (project_root / ".env.local").is_file():
                shutil.copy2(project_root / ".env.local", tree / ".env.local")
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=project_root,
                           capture_output=True, check=False)


def apply_diff(client: MlflowClient, run: Run, tree: Path) -> None:
    diff = records.read_artifact(client, run, GIT_DIFF_ARTIFACT)
    if diff is None:
        raise UserError(f"run {run.info.run_id} was made from a dirty tree but has no "
                        f"{GIT_DIFF_ARTIFACT} artifact; it cannot be reproduced exactly")
    patch, notes = patch_of(diff)
    for note in notes:
        print(f"note: not recorded, so not restored: {output.visible(note)}", flush=True)
    if patch.strip():
        (tree.parent / "run.patch").write_text(patch)
        git(tree, "apply", "--whitespace=nowarn", str(tree.parent / "run.patch"),
            why=f"the recorded {GIT_DIFF_ARTIFACT} does not apply to commit")


def git(cwd: Path, *args: str, why: str) -> None:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["git failed"])[-1]
        raise UserError(f"cannot reproduce: {why} ({detail})")


def accepted_pins(run: Run) -> list[str]:
    """The tasks whose differing ``[PathConfig]`` pin the run accepted (``--accept-pin``)."""
    from framework.core.names import accepted_pin_tag

    return records.tasks_tagged(run, accepted_pin_tag)


def config_of(client: MlflowClient, run: Run) -> dict[str, Any]:
    """The run's effective config; ``UserError`` for a sweep's or study's parent, which ran no
    configuration of its own (known by its tags, else by the ``[Sweep]`` of its config)."""
    from framework.core.names import STUDY_NAME_TAG, SWEEP_PARENT_TAGS

    tags = run.data.tags
    parent = any(tag in tags for tag in SWEEP_PARENT_TAGS)
    document = {} if parent else records.effective_config(client, run)
    if parent or config_file.SWEEP_SECTION in document:
        kind = "an adaptive study's" if STUDY_NAME_TAG in tags else "a sweep's"
        raise UserError(f"run {run.info.run_id} is {kind} parent; reproduce one of its "
                        "configurations (its child runs: `python src/runner.py runs`)")
    return document


def run_runner(tree: Path, config: Path, verify: bool, accept: Sequence[str], run_id: str
               ) -> tuple[int, str | None]:
    """``python src/runner.py --config CONFIG`` in ``tree``, its output passed through;
    (exit code, the new run's id)."""
    from framework.experiment.options import REPRODUCES_VARIABLE

    command = [sys.executable, str(tree / "src" / "runner.py"), "--config", str(config)]
    if verify:
        command.append("--no-reuse")
    for task in accept:
        command += ["--accept-pin", task]
    # The reproduce command as given: a pin's error then says how to accept it here.
    again = [run_id, *(["--verify"] if verify else []),
             *(f"--accept-pin {task}" for task in accept)]
    env = {**os.environ, "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"],
           REPRODUCES_VARIABLE: " ".join(again)}
    env.pop("LUIGI_CONFIG_PATH", None)
    new_run = None
    with subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            if new_run is None and (found := RUN_LINE.match(line)):
                new_run = found.group(1)
    return child.returncode, new_run


def reproduce(client: MlflowClient, project_root: Path, run_id: str, verify: bool,
              accept: Sequence[str] = ()) -> int:
    """Run ``run_id`` again; the exit code (1 when ``verify`` finds a prediction or metric
    that differs). ``accept``: tasks whose differing pin to accept beyond the run's own."""
    import toml

    from framework.verbs import verify as verification

    run = common.get_run(client, run_id)
    document = absolute_paths(config_of(client, run), project_root)
    pins = accepted_pins(run)
    if pins:
        print(f"note: accepting the pins run {run.info.run_id} accepted: {', '.join(pins)}",
              flush=True)
    pins += [task for task in accept if task not in pins]
    with tempfile.TemporaryDirectory(prefix="reproduce-config-") as scratch, \
            checkout(client, run, project_root) as tree:
        config = Path(scratch) / EFFECTIVE_CONFIG_ARTIFACT
        config.write_text(toml.dumps(document))
        code, new_run = run_runner(tree, config, verify, pins, run.info.run_id)
    if new_run is None:
        return code
    client.set_tag(new_run, REPRODUCES_TAG, run.info.run_id)
    print(f"run {new_run} reproduces run {run.info.run_id} (tag {REPRODUCES_TAG})")
    if code != 0 or not verify:
        return code
    report = verification.compare(client, run, client.get_run(new_run))
    verification.print_report(report)
    return 1 if report.decisive else 0
