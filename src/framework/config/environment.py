"""Reading ``.env`` and ``.env.local`` into the environment, with the runner's defaults, before
Luigi or MLflow is imported (both read the environment as they load)."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from framework.core import secrets
from framework.core.errors import UserError

ENV_DEFAULTS = {
    "LUIGI_CONFIG_PATH": "luigi.toml",
    "LUIGI_CONFIG_PARSER": "toml",
    "MLFLOW_TRACKING_URI": "sqlite:///mlruns/mlflow.db",
    # MLflow and GitPython are chatty by default; the runner prints its own progress.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    # A team server that errs or stalls must not hold the runner for minutes (MLflow's own
    # defaults: 120 s per request, 7 retries with backoff): every request gets 8 s without a
    # byte, and two retries about 2 s apart, so a server that stopped answering costs under
    # 30 s. .env or the shell may set other values.
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "8",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
}


def load_environment(project_root: Path) -> None:
    """Load ``.env.local`` (git-ignored, for secrets), then ``.env`` (tracked, no secrets);
    shell variables win over both, ``.env.local`` over ``.env``. Fill in the defaults.

    Every value ``.env.local`` sets is registered as a secret (see ``framework.core.secrets``).
    A relative sqlite tracking URI is made absolute from the project root, so the store is the
    same wherever the command was started.
    """
    local = project_root / ".env.local"
    if local.is_file():
        values = dotenv_values(local)
        secrets.register(value for name, value in values.items()
                         if value and name not in secrets.PUBLIC_SETTINGS)
        load_dotenv(local, override=False)
    load_dotenv(project_root / ".env", override=False)
    for name, value in ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if os.environ["LUIGI_CONFIG_PARSER"] != "toml":
        raise UserError(f"LUIGI_CONFIG_PARSER={os.environ['LUIGI_CONFIG_PARSER']}: the runner "
                        "reads TOML only; set it to toml (or unset it)")
    os.environ["MLFLOW_TRACKING_URI"] = absolute_tracking_uri(
        os.environ["MLFLOW_TRACKING_URI"], project_root
    )


def absolute_tracking_uri(uri: str, project_root: Path) -> str:
    """Resolve ``sqlite:///relative/path.db`` against the project root; other URIs pass through.

    The folder of a sqlite database is created, as MLflow would otherwise fail to open it.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return uri
    db_path = Path(uri.removeprefix(prefix))
    if not db_path.is_absolute():
        db_path = project_root / db_path
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a file where the folder should be, or no permission
        raise UserError(f"MLFLOW_TRACKING_URI={uri}: cannot use {db_path.parent} as the store's "
                        "folder (a file has its name, or it cannot be created); move it "
                        "away or set another MLFLOW_TRACKING_URI") from None
    if db_path.is_dir():
        raise UserError(f"MLFLOW_TRACKING_URI={uri}: {db_path} is a folder, not a database; "
                        "move it away or set another MLFLOW_TRACKING_URI")
    return f"{prefix}{db_path}"
