"""Task outputs that are MLflow models: logged models, their links, and the registry.

A task that sets ``RunTask.model_folder`` declares that this sub-folder of its output is an
MLflow model (an ``MLmodel`` file and what it names). When the task publishes its folder, the
framework also makes it an MLflow 3 *logged model* linked to the producing run, and records the
model id in the output's manifest. The verified folder stays the source of truth (reuse and
pins still go through it); the logged model is what the UI, ``models:/<model_id>`` URIs and the
Model Registry know. A run that reuses the output is linked to that same model, never a copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from framework.core.names import (
    MANIFEST_MODEL_ID_KEY,
    MODEL_FOLDER_TAG,
    SOURCE_TAG_PREFIX,
    USER_TAG,
)
from framework.outputs.folder import OutputFolder

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


def create(client: MlflowClient, run_id: str, what: str, folder: Path, final_folder: Path,
           params: Mapping[str, str]) -> str:
    """A PENDING logged model holding a copy of the MLflow model in ``folder``; its id.

    It is named ``<experiment>-<what>`` (e.g. ``titanic-GradientBoostingClassifier``): the
    Models tab and the registry list models by name.

    MLflow keeps a logged model's files in its own artifact location (there is no public way
    to point it at ours), hence the one copy, made from the staged files before they publish.
    """
    from mlflow.entities import LoggedModelOutput

    run = client.get_run(run_id)
    # Who made it and from which code, as on the run (the model page shows them).
    inherited = {key: value for key, value in run.data.tags.items()
                 if key.startswith(SOURCE_TAG_PREFIX) or key == USER_TAG}
    experiment = client.get_experiment(run.info.experiment_id).name
    model = client.create_logged_model(
        run.info.experiment_id, name=f"{experiment}-{what}", source_run_id=run_id,
        params=dict(params),
        tags={**inherited, MODEL_FOLDER_TAG: str(final_folder)})
    # The run page lists a run's logged models from its outputs.
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
    client.log_model_artifacts(model.model_id, str(folder))
    return str(model.model_id)


def load_model_saving() -> None:
    """Load now, once for this process and the processes it forks afterwards, what MLflow
    loads the first time a process saves a model in any flavor (``mlflow.pyfunc``), and have
    its requirement check look up only what it must (``check_only_unproven_requirements``)."""
    import mlflow.pyfunc  # noqa: F401

    check_only_unproven_requirements()


def check_only_unproven_requirements() -> None:
    """Have MLflow's model saving warn only of requirements the installed packages may not
    meet. MLflow compares every pip requirement of a model with the installed packages, and to
    find them it first maps every installed distribution's files (about 0.3 s, once per
    process). A requirement pinned to the version installed here, as the Trainer writes
    them, is met by definition: it is dropped from that check, found by its distribution's
    name (a few milliseconds). Any other requirement is checked as before, so the warning
    says what it always said, also to other code of this process. MLflow has no public way
    to do this; if its private hook moves, nothing changes and the check runs whole."""
    try:
        from mlflow.utils import environment
    except ImportError:
        return
    check = getattr(environment, "warn_dependency_requirement_mismatches", None)
    if check is None or getattr(check, "unproven_only", False):
        return

    def warn_of_unproven(model_requirements: list[str]) -> None:
        unproven = [line for line in model_requirements if not _installed(line)]
        if unproven:
            check(unproven)

    warn_of_unproven.unproven_only = True  # type: ignore[attr-defined]
    environment.warn_dependency_requirement_mismatches = warn_of_unproven


def _installed(requirement: str) -> bool:
    """Whether ``requirement`` (a pip requirement line) is a plain ``name==version`` that the
    distribution installed under that name meets. False whenever that is not plain: the line
    then goes to MLflow's own check, which never fails a save (a warning at most)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        parsed = Requirement(requirement)
        pins = list(parsed.specifier)
        if (parsed.marker or parsed.extras or parsed.url or len(pins) != 1
                or pins[0].operator != "=="):
            return False
        return parsed.specifier.contains(metadata.version(parsed.name))
    except Exception:  # a path or URL, a distribution not installed, broken metadata
        return False


def finalize(client: MlflowClient, model_id: str, ok: bool) -> None:
    client.finalize_logged_model(model_id, "READY" if ok else "FAILED")


def model_id_of(output: OutputFolder) -> str | None:
    """The logged model recorded in a complete output's manifest, if any."""
    value = (output.manifest() or {}).get(MANIFEST_MODEL_ID_KEY)
    return str(value) if value else None


def link_inputs(client: MlflowClient, run_id: str, model_ids: Iterable[str]) -> None:
    """Record on ``run_id`` that it used these (earlier) logged models."""
    from mlflow.entities import LoggedModelInput

    inputs = [LoggedModelInput(model_id) for model_id in dict.fromkeys(model_ids)]
    if inputs:
        client.log_inputs(run_id, models=inputs)


def register(client: MlflowClient, name: str, model_id: str) -> str:
    """Register ``model_id`` as a version of ``name`` (created if missing); the version.

    A model already registered under ``name`` keeps its version: a run that reuses it does
    not add a duplicate.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    source = f"models:/{model_id}"
    # Searched versions carry their source but not always their model id.
    for version in client.search_model_versions(f"name = '{name}'"):
        if version.source == source or version.model_id == model_id:
            return str(version.version)
    model = client.get_logged_model(model_id)
    created = client.create_model_version(name, source=source,
                                          run_id=model.source_run_id, model_id=model_id)
    return str(created.version)
