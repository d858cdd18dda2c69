"""What version of the code made a run: commit, branch and uncommitted changes (GitPython)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitState:
    commit: str
    branch: str
    dirty: bool
    diff: str

    def tags(self) -> dict[str, str]:
        """The MLflow tags that show the state in the UI (the first two are MLflow's own)."""
        return {
            "mlflow.source.git.commit": self.commit,
            "mlflow.source.git.branch": self.branch,
            "git.dirty": str(self.dirty).lower(),
        }


def read_git_state(project_root: Path) -> GitState | None:
    """The work tree's state, or None outside a git repository (or without git installed).

    ``dirty`` counts staged, unstaged and untracked (not ignored) files; ``diff`` is the patch
    against HEAD plus the list of untracked files, so a dirty run can be reproduced.
    """
    try:
        import git

        repo = git.Repo(project_root, search_parent_directories=True)
        commit = repo.head.commit.hexsha
    except Exception:  # no repository, no commit yet, or no git binary: nothing to record
        return None
    branch = "(detached)" if repo.head.is_detached else repo.active_branch.name
    untracked = repo.untracked_files
    dirty = repo.is_dirty(untracked_files=False) or bool(untracked)
    diff = repo.git.diff("HEAD") if dirty else ""
    if untracked:
        diff += "\n# untracked files:\n" + "\n".join(f"#   {name}" for name in untracked) + "\n"
    return GitState(commit, branch, dirty, diff)
