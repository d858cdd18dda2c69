"""The command that serves a registered model, printed so that it works as written.

``mlflow models serve`` starts ``uvicorn`` by name, so it needs the runner's virtual
environment on ``PATH`` (else ``exec: uvicorn: not found``), and it finds ``models:/`` URIs
through ``MLFLOW_TRACKING_URI``: the printed command sets both for itself.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from framework.core.secrets import redact

SERVE_PORT = 5001  # the UI's compose service takes 5000


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory (the project root) when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def shown_uri(uri: str) -> str:
    """A sqlite URI inside the project as the short relative one ``.env`` uses."""
    prefix = f"sqlite:///{Path.cwd()}/"
    return "sqlite:///" + uri[len(prefix):] if uri.startswith(prefix) else uri


def serve_command(model_uri: str, tracking_uri: str) -> str:
    """``PATH=.venv/bin:$PATH MLFLOW_TRACKING_URI=... .venv/bin/mlflow models serve ...``."""
    # Not resolved: a venv's python is a symlink to the interpreter it was made from.
    bin_dir = shown_path(Path(sys.executable).parent)
    return (f"PATH={shlex.quote(bin_dir)}:$PATH "
            f"MLFLOW_TRACKING_URI={shlex.quote(redact(shown_uri(tracking_uri)))} "
            f"{shlex.quote(os.path.join(bin_dir, 'mlflow'))} models serve -m "
            f"{shlex.quote(model_uri)} --env-manager local --port {SERVE_PORT}")
