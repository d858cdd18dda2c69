"""``[PathConfig]`` pins: folders, and ``runs:/<run_id>[/path]`` resolved in the tracking store.

A ``runs:/`` path must stay inside that run's artifacts; a run that only reused an output points
at the run that made it; with a remote store the output comes through the verified cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from framework.config import file as config_file
from framework.core.errors import UserError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

RUN_ID_LENGTH = 32  # MLflow's run ids: uuid4().hex


def resolve_run_pins(config: config_file.ExperimentConfig, client: MlflowClient
                     ) -> dict[str, Path]:
    """Folders for ``[PathConfig] Task = "runs:/<run_id>[/path]"`` entries."""
    folders = {task: run_pin_folder(client, task, uri) for task, uri in config.run_pins.items()}
    for task, folder in folders.items():
        if not folder.is_dir():
            raise UserError(f"PathConfig.{task} = {config.run_pins[task]!r}: that run has no "
                            f"{task} output on this machine ({folder}); name a run that ran it")
    return folders


def run_pin_folder(client: MlflowClient, task: str, uri: str) -> Path:
    """Where ``runs:/<run_id>`` keeps ``task``'s output, or ``runs:/<run_id>/<path>`` a folder.

    A run that reused the output points at the run that made it (its ``reused.<Task>`` tag).
    A run logged to a server is used through the local cache (``framework.store.remote_outputs``).
    """
    from mlflow.exceptions import MlflowException

    from framework.core.names import output_tag, reused_tag
    from framework.store.tracking import local_path

    run_id, _, subpath = uri.removeprefix(config_file.RUN_URI_PREFIX).strip("/").partition("/")
    try:
        run = client.get_run(run_id)
        source = run.data.tags.get(reused_tag(task))
        if not subpath and output_tag(task) not in run.data.tags and source:
            run = client.get_run(source)
    except MlflowException:
        if len(run_id) < RUN_ID_LENGTH:  # a pin names one run for good; a prefix may not
            raise UserError(f"PathConfig.{task} = {uri!r}: a pin needs the whole run id "
                            f"({RUN_ID_LENGTH} characters); copy it from `python src/runner.py "
                            "runs --format csv` or the MLflow UI") from None
        raise UserError(f"PathConfig.{task} = {uri!r}: no run {run_id!r} in "
                        f"{client.tracking_uri}; copy the run id from the MLflow UI") from None
    artifacts = local_path(run.info.artifact_uri)
    if artifacts is None:  # on a server: this machine's copy, else a verified download
        from framework.store.remote_outputs import pin_folder

        return pin_folder(client, run, task, subpath, uri)
    if subpath:
        folder = (artifacts / subpath).resolve()
        if not folder.is_relative_to(artifacts.resolve()):
            raise UserError(f"PathConfig.{task} = {uri!r} leads out of that run's artifacts "
                            f"({artifacts}); name a folder inside them, without '..'")
        return folder
    return Path(run.data.tags.get(output_tag(task)) or artifacts / task)


def check_distinct_folders(pins: dict[str, Path]) -> None:
    """Two tasks pinned to one folder would write over each other."""
    seen: dict[Path, str] = {}
    for task, folder in pins.items():
        if folder.resolve() in seen:
            raise UserError(f"PathConfig.{seen[folder.resolve()]} and PathConfig.{task} name the "
                            f"same folder {folder}; give each task its own folder")
        seen[folder.resolve()] = task
