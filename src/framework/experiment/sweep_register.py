"""``[Sweep] register``: the best configuration's MLflow model as a registered model version,
alias ``best``, from whichever run made it (the best run's own output, or the run it reused)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from framework.core.names import (
    OUTPUT_TAG_PREFIX,
    REUSED_TAG_PREFIX,
    SWEEP_REGISTERED_TAG,
    output_tag,
)

if TYPE_CHECKING:
    from framework.store.tracking import TrackedRun


def register(parent: TrackedRun, run_id: str, name: str) -> None:
    """Register the MLflow model among ``run_id``'s task outputs as ``name``, alias ``best``."""
    from mlflow.exceptions import MlflowException

    client = parent.client
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        run = None
    if run is None or run.info.lifecycle_stage == "deleted":  # a study's trial, gc'd since
        print(f"nothing registered: run {run_id} was deleted since", flush=True)
        return
    tags = run.data.tags
    for key, folder in sorted(tags.items()):
        if not key.startswith((OUTPUT_TAG_PREFIX, REUSED_TAG_PREFIX)):
            continue
        if key.startswith(REUSED_TAG_PREFIX):
            task = key.removeprefix(REUSED_TAG_PREFIX)
            folder = client.get_run(folder).data.tags.get(output_tag(task), "")
        models = sorted(Path(folder).glob("*/MLmodel")) if folder else []
        if models:
            try:
                client.get_registered_model(name)
            except MlflowException:
                client.create_registered_model(name)
            version = client.create_model_version(name, str(models[0].parent), run_id=run_id)
            client.set_registered_model_alias(name, "best", version.version)
            parent.set_tags({SWEEP_REGISTERED_TAG: f"{name}/{version.version}"})
            print(f"registered {name} version {version.version} (alias best) from run "
                  f"{run_id}", flush=True)
            return
    print(f"nothing registered: run {run_id} has no MLflow model among its outputs",
          flush=True)
