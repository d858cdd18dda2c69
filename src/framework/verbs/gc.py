"""``gc``: delete runs and their artifacts, keeping everything still needed (``keep.py``).

The real run decides again under the exclusive gc lock (``framework.gc_guard``) and holds the
claims of the outputs it deletes (``framework.claims``), so no runner of this machine plans
with a run being deleted. Deleting is what ``mlflow gc`` does: mark the run deleted, delete
its artifact location through MLflow's artifact repository, then hard-delete it from the
backend store. A tracking server offers no hard delete: there the runs are marked deleted and
their artifacts deleted through the server; ``mlflow gc`` on the server host purges the rest.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import UserError
from framework.verbs import common, keep, output

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
SHOWN = 50  # rows of the table form; csv and json list everything


@dataclass
class Survey:
    runs: dict[str, Run]
    decision: keep.Decision
    sizes: dict[str, int]
    models: dict[str, list[Any]]  # collected run id -> its logged models that go too

    @property
    def freed(self) -> int:
        return sum(self.sizes.values())


def facts_of(run: Run) -> keep.RunFacts:
    from framework.core.names import PARENT_TAG, output_tag, reused_tag, signature_tag

    tags = run.data.tags
    reused_prefix, signature_prefix = reused_tag(""), signature_tag("")
    wrote = [key.removeprefix(signature_prefix) for key in tags
             if key.startswith(signature_prefix)
             and output_tag(key.removeprefix(signature_prefix)) in tags]
    return keep.RunFacts(
        run.info.run_id, run.info.experiment_id, run.info.start_time or 0, run.info.status,
        deleted=run.info.lifecycle_stage == "deleted", parent=tags.get(PARENT_TAG, ""),
        sources={key.removeprefix(reused_prefix): value for key, value in tags.items()
                 if key.startswith(reused_prefix) and value},
        signatures=[tags[signature_tag(task)] for task in wrote])


def every_run(client: MlflowClient) -> Iterator[Run]:
    from mlflow.entities import ViewType

    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    for start in range(0, len(experiments), 100):
        yield from common.search_all(client, experiments[start:start + 100],
                                     view_type=ViewType.ALL)


def registered(client: MlflowClient) -> tuple[dict[str, str], set[str]]:
    """(run id -> why, logged model ids) behind registered model versions."""
    runs: dict[str, str] = {}
    models: set[str] = set()
    token = None
    while True:
        page = client.search_model_versions(max_results=1000, page_token=token)
        for version in page:
            if version.run_id:
                runs[version.run_id] = (f"version {version.version} of registered model "
                                        f"{version.name!r}")
            model_id = getattr(version, "model_id", None) or str(version.source or "").removeprefix(
                "models:/")
            models.add(model_id)
        token = page.token
        if not token:
            return runs, models


def pinned(project_root: Path, known: set[str]) -> dict[str, str]:
    """Runs the project's config pins in ``[PathConfig]`` (``runs:/<id>`` or a folder inside
    a run's artifacts). Read leniently: a config that does not parse pins nothing here."""
    path = project_root / os.environ.get("LUIGI_CONFIG_PATH", "luigi.toml")
    try:
        section = tomllib.loads(path.read_text()).get("PathConfig", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    found: dict[str, str] = {}
    for task, value in section.items() if isinstance(section, dict) else ():
        parts = re.split(r"[/:]", str(value))
        for part in parts:
            if RUN_ID.match(part) and part in known:
                found[part] = f"pinned by PathConfig.{task} in {path.name}"
    return found


def claimed_digests(runs: list[keep.RunFacts], hold: bool) -> set[str]:
    """Signature digests whose claim another runner holds. With ``hold`` the free claims are
    taken (and kept until ``claims.release_all``), so no runner starts computing them."""
    from framework.execution import claims
    busy = set()
    for run in runs:
        for digest in run.signatures:
            if not (claims.CLAIMS_DIR / f"{digest}.lock").exists():
                continue
            if not claims.try_claim(digest):
                busy.add(digest)
            elif not hold:
                claims.release(digest)
    return busy


def size_of(client: MlflowClient, run: Run) -> int:
    from framework.store.tracking import local_path

    folder = local_path(run.info.artifact_uri)
    if folder is not None:
        return folder_size(folder)
    total = 0
    pending = [""]
    while pending:
        for info in client.list_artifacts(run.info.run_id, pending.pop() or None):
            if info.is_dir:
                pending.append(info.path)
            else:
                total += info.file_size or 0
    return total


def folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def logged_models(client: MlflowClient, experiments: list[str]) -> dict[str, list[Any]]:
    """Source run id -> its logged models."""
    found: dict[str, list[Any]] = {}
    for start in range(0, len(experiments), 100):
        token = None
        while True:
            page = client.search_logged_models(experiments[start:start + 100],
                                               max_results=1000, page_token=token)
            for model in page:
                found.setdefault(model.source_run_id or "", []).append(model)
            token = page.token
            if not token:
                break
    return found


def survey(client: MlflowClient, rules: keep.Rules, project_root: Path, hold: bool = False
           ) -> Survey:
    """Read the store and decide; ``hold`` also takes the claims of what goes."""
    runs = {run.info.run_id: run for run in every_run(client)}
    facts = [facts_of(run) for run in runs.values()]
    protected, registered_models = registered(client)
    protected = {**pinned(project_root, set(runs)), **protected}
    first = keep.decide(facts, rules, int(time.time() * 1000), protected)
    going = [f for f in facts if f.run_id in first.collected]
    busy = claimed_digests(going, hold)
    decision = keep.decide(facts, rules, int(time.time() * 1000), protected, busy)
    experiments = sorted({runs[r].info.experiment_id for r in decision.collected})
    models = logged_models(client, experiments) if decision.collected else {}
    going_models = {run_id: [m for m in models.get(run_id, [])
                             if m.model_id not in registered_models]
                    for run_id in decision.collected}
    sizes = {run_id: size_of(client, runs[run_id]) + sum(
        model_size(m) for m in going_models[run_id]) for run_id in decision.collected}
    return Survey(runs, decision, sizes, going_models)


def model_size(model: Any) -> int:
    from framework.store.tracking import local_path

    folder = local_path(str(model.artifact_location))
    return folder_size(folder) if folder is not None else 0


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

    from framework.store import remote_outputs as remote
    from framework.store.tracking import local_path

    run_id = run.info.run_id
    if run.info.lifecycle_stage != "deleted":
        client.delete_run(run_id)
    get_artifact_repository(run.info.artifact_uri).delete_artifacts()
    folder = local_path(run.info.artifact_uri)
    if folder is not None and folder.parent.name == run_id:
        shutil.rmtree(folder.parent, ignore_errors=True)  # the run's own folder, now empty
    from framework.experiment.experiment import REMOTE_STAGING

    for copy in (REMOTE_STAGING / run_id, remote.CACHE_DIR / run_id):
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
        return "\n".join([",".join(columns)] + [",".join(str(c) for c in r) for r in rows]
                         + [f"# {summary}"])
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
