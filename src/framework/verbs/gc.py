"""``gc``: delete runs and their artifacts, keeping everything still needed (``keep.py``
decides, from what ``gc_survey.py`` reads).

The real run decides again under the exclusive gc lock (``framework.execution.gc_guard``) and holds
the claims of the outputs it deletes (``framework.execution.claims``), so no runner of this machine
plans with a run being deleted. Deleting is what ``mlflow gc`` does: mark the run deleted, delete
its artifact location through MLflow's artifact repository, then hard-delete it from the
backend store. A tracking server offers no hard delete: there the runs are marked deleted and
their artifacts deleted through the server; ``mlflow gc`` on the server host purges the rest.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import UserError
from framework.core.local_dirs import CACHE_DIR, REMOTE_STAGING
from framework.verbs import keep, output
from framework.verbs.gc_survey import Survey, survey

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

SHOWN = 50  # rows of the table form; csv and json list everything


def check(rules: keep.Rules) -> None:
    if problem := rules.problem():
        raise UserError(problem)


def collect(client: MlflowClient, rules: keep.Rules, project_root: Path) -> tuple[Survey, str]:
    """Delete what goes, under the gc lock; (what was decided, a note on what stays)."""
    from framework.core import heap
    from framework.execution import claims, gc_guard
    with gc_guard.exclusive():
        try:
            found = survey(client, rules, project_root, hold=True)
            heap.settle()  # read: collect again while deleting (sessions make cycles)
            store = client._tracking_client.store  # what `mlflow gc` hard-deletes through
            purge = hasattr(store, "_hard_delete_run")
            for run_id in found.decision.collected:
                delete_run(client, store, found.runs[run_id], found.models[run_id], purge)
        finally:
            claims.release_all()
    note = "" if purge else (
        "the tracking server has no hard delete: the runs are marked deleted and their "
        "artifacts removed; run `mlflow gc --backend-store-uri ...` on the server host to purge "
        "the rest")
    if purge:
        vacuum(client.tracking_uri)
    return found, note


def delete_run(client: MlflowClient, store: Any, run: Run, models: list[Any], purge: bool
               ) -> None:
    """As ``mlflow gc``: mark deleted, delete the artifact location, hard-delete."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from framework.store.tracking import local_path

    run_id = run.info.run_id
    if run.info.lifecycle_stage != "deleted":
        client.delete_run(run_id)
    get_artifact_repository(run.info.artifact_uri).delete_artifacts()
    folder = local_path(run.info.artifact_uri)
    if folder is not None and folder.parent.name == run_id:
        shutil.rmtree(folder.parent, ignore_errors=True)  # the run's own folder, now empty
    for copy in (REMOTE_STAGING / run_id, CACHE_DIR / run_id):
        shutil.rmtree(copy, ignore_errors=True)  # this machine's copies of its outputs
    for model in models:
        client.delete_logged_model(model.model_id)
        get_artifact_repository(str(model.artifact_location)).delete_artifacts()
        location = local_path(str(model.artifact_location))
        if location is not None and location.parent.name == model.model_id:
            shutil.rmtree(location.parent, ignore_errors=True)
        if purge and hasattr(store, "_hard_delete_logged_model"):
            store._hard_delete_logged_model(model.model_id)
    if purge:
        store._hard_delete_run(run_id)


def vacuum(tracking_uri: str) -> None:
    """Give a sqlite store's freed pages back to the disk (skipped while it is busy)."""
    from framework.store.connection import sqlite_path

    database = sqlite_path(tracking_uri)
    if database is None:
        return
    connection = sqlite3.connect(database, timeout=5)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError:
        pass  # another process is using it: the pages are reused by later runs anyway
    finally:
        connection.close()


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def render(found: Survey, form: str, dry_run: bool) -> str | None:
    """What goes (and what stays only because something needs it)."""
    decision = found.decision
    rows = []
    for run_id, why in decision.collected.items():
        run = found.runs[run_id]
        start = time.strftime("%Y-%m-%d %H:%M", time.gmtime((run.info.start_time or 0) / 1000))
        rows.append([run_id, start, run.info.status, why, found.sizes[run_id]])
    needed = {run_id: why for run_id, why in decision.kept.items()
              if not why.startswith(("among the", "younger than", "not in the", "a sweep"))}
    verb = "would delete" if dry_run else "deleted"
    summary = (f"{verb} {len(rows)} runs ({len(needed)} kept because something needs them), "
               f"{'freeing' if dry_run else 'freed'} {mib(found.freed)}")
    if form == "json":
        return output.json_text({
            "dry_run": dry_run, "bytes": found.freed,
            "collected": [dict(zip(("run_id", "start", "status", "why", "bytes"), row,
                                   strict=True)) for row in rows],
            "kept_because_needed": needed})
    columns = ["run", "start (UTC)", "status", "why it goes", "bytes"]
    if form == "csv":
        return output.csv_text([columns, *rows]) + f"\n# {summary}"
    shown = [[r[0][:8], *r[1:4], mib(r[4])] for r in rows[:SHOWN]]
    more = f"\n… and {len(rows) - SHOWN} more (--format csv lists all)" if len(rows) > SHOWN else ""
    kept_rows = [[run_id[:8], why] for run_id, why in needed.items()]
    if form == "md":
        text = output.markdown(columns, shown) + more
        if kept_rows:
            text += "\n\n" + output.markdown(["kept", "because"], kept_rows)
        return f"{text}\n\n{summary}"
    if shown:
        output.print_table(f"runs gc {verb}", columns, shown, no_wrap=("run",))
    if more:
        print(more.strip())
    if kept_rows:
        output.print_table("kept because something needs them", ["run", "because"], kept_rows)
    print(summary)
    return None
