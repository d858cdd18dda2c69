"""A project copied or moved together with its ``mlruns/``: refuse to write into the old one.

MLflow stores each experiment's artifact location as an absolute path, fixed when the
experiment was created. In a copied or moved project the sqlite store still says
``/old/place/mlruns/<id>``, so every new run would write its artifacts into the OLD project's
folder (or fail when it is gone). The runner does not rewrite MLflow's records (a relative
location would be resolved from whatever folder a reader starts in, which breaks the MLflow UI
and other tools); it detects the case before the run and says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from framework.core.errors import UserError
from framework.core.local_dirs import LOCAL_ROOT

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def check_not_moved(client: MlflowClient, experiment_name: str, project_root: Path) -> None:
    """``UserError`` when the store is this project's sqlite file but experiment
    ``experiment_name`` keeps its artifacts outside this project's ``mlruns/``."""
    from framework.store.connection import sqlite_path
    from framework.store.tracking import local_path

    own = (project_root / LOCAL_ROOT).resolve()
    database = sqlite_path(client.tracking_uri)
    if database is None or not database.resolve().is_relative_to(own):
        return  # a server or a shared store: its locations are its own business
    experiment = client.get_experiment_by_name(experiment_name)
    location = local_path(experiment.artifact_location) if experiment else None
    if location is None or location.resolve().is_relative_to(own):
        return
    raise UserError(f"experiment {experiment_name!r} keeps its artifacts in {location}, "
                    f"outside this project's mlruns/ (the project was copied or moved with "
                    f"its store): move the project back to {location.parent.parent}, or log "
                    "into a new experiment (another experiment_name in [RunConfig])")
