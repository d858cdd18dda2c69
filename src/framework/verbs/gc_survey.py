"""``gc``'s survey: every run of the store, what keeps each one (``keep.py`` decides from the
facts read here: registered model versions, ``[PathConfig]`` pins, claims other runners hold,
the runs a sweep or study parent names), and how much deleting the rest frees. Reads only;
deleting is ``gc.py``'s.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.local_dirs import CLAIMS_DIR
from framework.core.names import RUN_ID_PATTERN
from framework.verbs import common, keep, records

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

RUN_ID = re.compile(rf"^{RUN_ID_PATTERN}$")


@dataclass
class Survey:
    runs: dict[str, Run]
    decision: keep.Decision
    sizes: dict[str, int]
    models: dict[str, list[Any]]  # collected run id -> its logged models that go too

    @property
    def freed(self) -> int:
        return sum(self.sizes.values())


def facts_of(run: Run, trials: Mapping[str, Sequence[str]] = {}) -> keep.RunFacts:
    """What ``keep`` decides from; ``trials`` maps a study's name to its trials' runs."""
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
        signatures=[tags[signature_tag(task)] for task in wrote], named=named_by(run, trials))


def named_by(run: Run, trials: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The runs a sweep or study parent names by its tags: its best run, and every trial of
    its study (a rerun of the study lists them all, read from the study's storage)."""
    from framework.core.names import STUDY_NAME_TAG, SWEEP_BEST_TAG

    tags = run.data.tags
    named = {tags[SWEEP_BEST_TAG]: "its best run"} if tags.get(SWEEP_BEST_TAG) else {}
    study = tags.get(STUDY_NAME_TAG)
    for trial in trials.get(study, ()) if study else ():
        named.setdefault(trial, f"a trial of its study {study!r}")
    return named


def studies(runs: Mapping[str, Run]) -> dict[str, list[str]]:
    """Study name -> the runs of its trials, whichever command (parent) ran them."""
    from framework.core.names import TRIAL_STUDY_TAG

    found: dict[str, list[str]] = {}
    for run_id, run in runs.items():
        if study := run.data.tags.get(TRIAL_STUDY_TAG):
            found.setdefault(study, []).append(run_id)
    return found


def with_tables(client: MlflowClient, runs: Mapping[str, Run], facts: list[keep.RunFacts],
                kept: Mapping[str, str]) -> list[keep.RunFacts]:
    """``facts`` with the rows of each kept sweep parent's table added to what it names. Only
    kept parents' tables are read (an artifact read each), and only they keep what they name."""
    from framework.core.names import SWEEP_PARENT_TAGS

    def named(fact: keep.RunFacts) -> keep.RunFacts:
        tags = runs[fact.run_id].data.tags
        if fact.run_id not in kept or not any(tag in tags for tag in SWEEP_PARENT_TAGS):
            return fact
        rows = {run_id: "a row of its sweep table" for run_id in records.table_runs(
            client, runs[fact.run_id])}
        return replace(fact, named={**rows, **fact.named})
    return [named(fact) for fact in facts]


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
            if not (CLAIMS_DIR / f"{digest}.lock").exists():
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
    trials = studies(runs)
    facts = [facts_of(run, trials) for run in runs.values()]
    protected, registered_models = registered(client)
    protected = {**pinned(project_root, set(runs)), **protected}
    first = keep.decide(facts, rules, int(time.time() * 1000), protected)
    facts = with_tables(client, runs, facts, first.kept)
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
