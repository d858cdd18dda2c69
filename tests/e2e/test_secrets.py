"""No secret reaches the store: planted secrets are searched for in every byte it holds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.project import Project, copy_project, use_probes

LOCAL_SECRET = "local-s3cr3t-4b1d"      # in .env.local, pasted into the run's description
SHELL_SECRET = "shell-t0ken-9c2e"       # an environment variable, pasted into luigi.toml
TRACKED_SECRET = "tracked-k3y-7a0f"     # a line added to the tracked .env
URI_SECRET = "uri-passw0rd-5e8d"        # the password of a URI, a task parameter
PLANTED = (LOCAL_SECRET, SHELL_SECRET, TRACKED_SECRET, URI_SECRET)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path
          ) -> tuple[Project, subprocess.CompletedProcess[str]]:
    """One run of a project whose user put secrets wherever a user might."""
    project = copy_project(tmp_path_factory.mktemp("secrets") / "project", titanic_dir)
    use_probes(project, "Echo", description=f"uses {LOCAL_SECRET} and "
                                            f"postgresql://bob:{URI_SECRET}@db/x")
    project.git("add", "-A")
    project.git("-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "probes")
    (project.root / ".env.local").write_text(f"DB_PASSWORD={LOCAL_SECRET}\n")
    with (project.root / ".env").open("a") as env:
        env.write(f"AWS_SECRET_ACCESS_KEY={TRACKED_SECRET}\n")
    config = project.root / "luigi.toml"
    config.write_text(config.read_text() + f"# my token: {SHELL_SECRET}\n")
    result = project.run("--set", f'Echo.endpoint="postgresql://bob:{URI_SECRET}@db/x"',
                         MY_API_TOKEN=SHELL_SECRET)
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result


def test_no_planted_secret_is_anywhere_in_the_store(leaky):
    project, result = leaky
    files = [path for path in (project.root / "mlruns").rglob("*") if path.is_file()]
    assert any(path.name == "mlflow.db" for path in files)
    for path in files:
        data = path.read_bytes()
        for secret in PLANTED:
            assert secret.encode() not in data, f"{secret} leaked into {path}"
    for secret in PLANTED:
        assert secret not in result.stdout + result.stderr


def test_what_was_logged_shows_where_secrets_were_masked(leaky):
    project, _ = leaky
    (run,) = project.runs("probes")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.note.content"] == "uses *** and postgresql://bob:***@db/x"
    assert run.data.params["Echo.endpoint"] == "postgresql://bob:***@db/x"
    artifacts = Path(run.info.artifact_uri)
    assert "# my token: ***" in (artifacts / "config" / "luigi.toml").read_text()
    assert "postgresql://bob:***@db/x" in (artifacts / "logs" / "luigi.log").read_text()
    diff = (artifacts / "git.diff").read_text()
    assert "luigi.toml" in diff  # the dirty tree is still recorded...
    assert "AWS_SECRET_ACCESS_KEY" not in diff  # ...but never what .env says
    assert "not logged (may hold secrets): .env" in diff
    # .env.local was loaded on top of .env: the task saw its variable.
    assert (artifacts / "Echo" / "echo.txt").read_text() == "DB_PASSWORD loaded"


def test_env_local_is_ignored_by_git(leaky):
    project, _ = leaky
    assert project.git("check-ignore", ".env.local") == ".env.local"
    assert ".env.local" not in project.git("status", "--porcelain")


def test_redact_masks_secret_variables_uri_passwords_and_registered_values(
        monkeypatch: pytest.MonkeyPatch):
    from framework.core import secrets
    monkeypatch.setenv("SERVICE_PASSWORD", "pa55word-xyz")
    monkeypatch.setenv("PATH_LIKE_KEY", "/")  # a path: never a secret
    monkeypatch.setenv("FLAG_TOKEN", "true")  # too plain to hide
    monkeypatch.setattr(secrets, "_registered", set())
    secrets.register(["from-env-local-1"])
    text = ("pw=pa55word-xyz url=https://me:hunter22@host/x "
            "local=from-env-local-1 path=/ flag=true")
    assert secrets.redact(text) == ("pw=*** url=https://me:***@host/x "
                                    "local=*** path=/ flag=true")
