"""What every verb needs: the project's store, a run named by the user, its recorded files.

A run id the user typed is checked here once, so every verb refuses an unknown id, a run of
another store and a deleted run with the same one line (``UserError``, exit 2).

``runs`` and ``diff`` may read a sqlite store without MLflow (``framework.store.sql_reader``):
the functions here that take a ``Store`` answer the same from an ``MlflowClient`` or a
``SqlReader``, and raise ``Unreadable`` for what only MLflow can read (a remote artifact).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, overload

from framework.config.environment import load_environment
from framework.core.errors import UserError
from framework.core.secrets import redact
from framework.store.sql_reader import SqlReader, StoredRun, open_reader

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

    Store: TypeAlias = MlflowClient | SqlReader  # what a verb reads runs from
    AnyRun: TypeAlias = Run | StoredRun  # a run as either of them returns it

PAGE = 1000  # runs per search request (MLflow's sqlite store caps a page at 50,000)


def open_project_store(project_root: Path, chdir: bool = True) -> MlflowClient:
    """``.env`` loaded, the working directory at the project root (where the runner keeps
    ``mlruns/claims`` and ``mlruns/cache``; a notebook keeps its own: ``chdir=False``), and a
    checked client of its tracking store."""
    from framework.store.tracking import open_store, tracking_uri

    load_environment(project_root)
    if chdir:
        os.chdir(project_root)
    return open_store(tracking_uri())


def open_project_reader(project_root: Path, chdir: bool = True) -> SqlReader | None:
    """Like ``open_project_store``, but a read-only reader of the project's sqlite store that
    does not import MLflow; None when the store is not one it reads exactly (a server, a new
    or migrating store: use ``open_project_store``)."""
    load_environment(project_root)
    if chdir:
        os.chdir(project_root)
    return open_reader(os.environ["MLFLOW_TRACKING_URI"])


def store_name(store: Store) -> str:
    return redact(str(store.tracking_uri))


def find_run(store: Store, run_id: str) -> AnyRun | None:
    """The run ``run_id`` in any lifecycle stage; None when the store has none."""
    if isinstance(store, SqlReader):
        return store.get_run(run_id)
    from mlflow.exceptions import MlflowException

    try:
        return store.get_run(run_id)
    except MlflowException:
        return None


@overload
def get_run(store: MlflowClient, run_id: str) -> Run: ...


@overload
def get_run(store: SqlReader, run_id: str) -> StoredRun: ...


def get_run(store: Store, run_id: str) -> AnyRun:
    """The active run ``run_id`` (a unique prefix of at least 6 characters works too)."""
    wanted = run_id.strip()
    if not wanted or not all(c in "0123456789abcdef" for c in wanted.lower()):
        raise UserError(f"{run_id!r} is not a run id; copy one from `python src/runner.py runs`")
    run = find_run(store, wanted)
    if run is None and len(wanted) < 32:
        run = by_prefix(store, wanted)
    if run is None and len(wanted) < 6:
        raise UserError(f"run id {run_id!r} is too short to name one run; give at least 6 of "
                        "its characters (from `python src/runner.py runs`)")
    if run is None:
        raise UserError(f"no run {run_id!r} in the tracking store {store_name(store)} (a run "
                        "of another store, or a typo); copy a run id from `python "
                        "src/runner.py runs`")
    if run.info.lifecycle_stage == "deleted":
        raise UserError(f"run {run.info.run_id} was deleted; restore it in the MLflow UI "
                        "(Runs, show deleted) or name another run")
    return run


def by_prefix(store: Store, prefix: str) -> AnyRun | None:
    """The one run whose id starts with ``prefix``; ``UserError`` when several do."""
    if len(prefix) < 6:
        return None
    found: list[AnyRun] = []
    if isinstance(store, SqlReader):
        found += store.runs_by_prefix(prefix.lower())
    else:
        from mlflow.entities import ViewType

        experiments = [e.experiment_id
                       for e in store.search_experiments(view_type=ViewType.ALL)]
        for start in range(0, len(experiments), 100):
            found += store.search_runs(experiments[start:start + 100],
                                       f"attributes.run_id LIKE '{prefix.lower()}%'",
                                       run_view_type=ViewType.ALL, max_results=2)
    if len(found) > 1:
        raise UserError(f"run id prefix {prefix!r} matches several runs; give more characters")
    return found[0] if found else None


def experiment_ids(store: Store, name: str | None) -> list[str]:
    """The id of experiment ``name``, or of every active experiment when ``name`` is None."""
    if name is None:
        return [e.experiment_id for e in store.search_experiments()]
    found = store.get_experiment_by_name(name)
    if found is None or found.lifecycle_stage == "deleted":
        names = sorted(e.name for e in store.search_experiments())
        raise UserError(f"no experiment {name!r} in {store_name(store)}; the store has: "
                        f"{', '.join(names) or 'none'}")
    return [found.experiment_id]


def config_experiment(path: Path) -> str:
    """``[RunConfig] experiment_name`` of the config file at ``path``; ``UserError`` when the
    file cannot be read or names none."""
    from framework.config.file import RUN_SECTION, read_toml

    section = read_toml(path).get(RUN_SECTION)
    name = section.get("experiment_name") if isinstance(section, dict) else None
    if not isinstance(name, str) or not name:
        raise UserError(f"{path}: no [{RUN_SECTION}] experiment_name to list; give "
                        "--experiment NAME instead")
    return name


def refused_order(clause: str) -> bool:
    """Whether MLflow's own parser refuses ``clause`` as a ``search_runs`` order: its refusal
    of a whole search does not say whether the filter or the order was wrong."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.search_utils import SearchUtils

    try:
        SearchUtils.parse_order_by_for_search_runs(clause)
    except MlflowException:
        return True
    return False


def default_experiment(store: Store, project_root: Path) -> str | None:
    """The config's experiment when the store has it (read leniently), else None: all."""
    try:
        name = config_experiment(project_root / os.environ.get("LUIGI_CONFIG_PATH", "luigi.toml"))
    except UserError:  # no config, or none naming an experiment: list them all
        return None
    found = store.get_experiment_by_name(name)
    return name if found is not None and found.lifecycle_stage == "active" else None


def search_all(client: MlflowClient, experiments: list[str], filter_string: str = "",
               order_by: list[str] | None = None, limit: int | None = None,
               view_type: int | None = None) -> Iterator[Run]:
    """Runs page by page (``search_runs`` pages), newest first unless ``order_by`` says else.

    A filter MLflow cannot parse is a ``UserError`` naming it.
    """
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    token = None
    yielded = 0
    while experiments:
        size = PAGE if limit is None else min(PAGE, limit - yielded)
        if size <= 0:
            return
        try:
            page = client.search_runs(
                experiments, filter_string, run_view_type=view_type or ViewType.ACTIVE_ONLY,
                max_results=size, order_by=order_by or ["attributes.start_time DESC"],
                page_token=token)
        except MlflowException as error:
            if error.error_code != "INVALID_PARAMETER_VALUE":
                raise
            message = str(error).strip().splitlines()[0].rstrip(".")
            if order_by and any(refused_order(clause) for clause in order_by):
                raise UserError(f"bad sort {', '.join(order_by)!r}: {message}; use MLflow's "
                                "order syntax, e.g. --sort \"metrics.cv_accuracy_mean DESC\" "
                                "(ASC or DESC)") from None
            raise UserError(f"bad filter {filter_string!r}: {message}; use MLflow's search "
                            "syntax, e.g. \"metrics.cv_accuracy_mean > 0.8 and "
                            "params.`Trainer.seed` = '1'\"") from None
        yield from page
        yielded += len(page)
        token = page.token
        if not token:
            return


def git_tags() -> tuple[str, str, str]:
    """The names of the commit, branch and dirty-flag tags (``GitState.tags``)."""
    from framework.core.gitinfo import GitState

    commit, branch, dirty = GitState("", "", False, "").tags()
    return commit, branch, dirty
