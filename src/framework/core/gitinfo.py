"""What version of the code made a run: commit, branch and uncommitted changes (GitPython)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from framework.core.names import GIT_BRANCH_TAG, GIT_COMMIT_TAG, GIT_DIRTY_TAG

# Environment files may hold secrets: their content never enters the logged diff.
PRIVATE_FILES = (".env", ".env.*")


@dataclass(frozen=True)
class GitState:
    commit: str
    branch: str
    dirty: bool
    diff: str

    def tags(self) -> dict[str, str]:
        """The MLflow tags that show the state in the UI (the first two are MLflow's own)."""
        return {
            GIT_COMMIT_TAG: self.commit,
            GIT_BRANCH_TAG: self.branch,
            GIT_DIRTY_TAG: str(self.dirty).lower(),
        }


@cache
def read_git_state(project_root: Path, logged: tuple[Path, ...] = ()) -> GitState | None:
    """The work tree's state, or None outside a git repository (or without git installed).

    Read once per process: every run a process records (a sweep's parent and children) ran
    the code the process imported when it started, so they record the state of that moment.

    ``dirty`` means the code that runs may differ from the commit: a tracked file changed
    (staged or not), or an untracked file that may be code exists (``code_like``). The files in
    ``logged`` (the run's config file, which the run logs as an artifact anyway) do not count,
    nor do other untracked files (a new config, notes, data). ``diff`` is the patch against
    HEAD plus the list of untracked files, so a dirty run can be reproduced. Files named like
    ``PRIVATE_FILES`` (in any folder) are left out of both: only a note says they changed.
    """
    try:
        import git

        repo = git.Repo(project_root, search_parent_directories=True)
        commit = repo.head.commit.hexsha
    except Exception:  # no repository, no commit yet, or no git binary: nothing to record
        return None
    branch = "(detached)" if repo.head.is_detached else repo.active_branch.name
    untracked = [name for name in repo.untracked_files if not private(name)]
    root = Path(str(repo.working_tree_dir)).resolve()
    own = {path.resolve().relative_to(root).as_posix() for path in logged
           if path.resolve().is_relative_to(root)}
    changed = repo.git.diff("HEAD", "--name-only").splitlines()
    dirty = bool(set(changed) - own) or any(code_like(name) for name in untracked
                                            if name not in own)
    excluded = [f":(exclude,glob)**/{pattern}" for pattern in PRIVATE_FILES]
    diff = repo.git.diff("HEAD", "--", ".", *excluded) if dirty else ""
    hidden = [name for name in changed if private(name)]
    if hidden:
        diff += "\n# changed but not logged (may hold secrets): " + ", ".join(hidden) + "\n"
    if untracked:
        diff += "\n# untracked files:\n" + "\n".join(f"#   {name}" for name in untracked) + "\n"
    return GitState(commit, branch, dirty, diff)


def code_like(name: str) -> bool:
    """True for an untracked file that may change what runs: Python, or anything in ``src/``."""
    return name.endswith(".py") or Path(name).parts[:1] == ("src",)


def private(name: str) -> bool:
    """True for a path whose file name matches ``PRIVATE_FILES``."""
    return any(fnmatch.fnmatch(Path(name).name, pattern) for pattern in PRIVATE_FILES)
