"""Finding earlier outputs of a task in the tracking store, by the runs' tags.

A run that wrote a task's output carries ``output.<Task>`` (where), ``signature.<Task>`` (what
made it) and ``manifest.<Task>`` (the digest of the manifest it published). An output is
reused only when it verifies and its manifest is still the one its run recorded; a plan's
reason reads what made an earlier output from that recorded manifest alone (``earlier``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from framework.core import names
from framework.core.names import manifest_tag, output_tag, signature_tag
from framework.outputs import signing
from framework.outputs.folder import OutputFolder
from framework.outputs.signature import Signature
from framework.store import remote_outputs as remote

if TYPE_CHECKING:
    from mlflow.entities import Run

CANDIDATES = 20  # newest matching runs examined before giving up on reuse


def stored_signature(output: OutputFolder) -> Signature | None:
    manifest = output.manifest() or {}
    parts = manifest.get(names.MANIFEST_SIGNATURE_PARTS_KEY)
    return Signature.from_parts(parts) if isinstance(parts, dict) else None


class OutputIndex:
    """Finds earlier outputs of a task in the tracking store by the runs' signature tags.

    An output is used from where its run keeps it: a folder of this machine (the run's
    artifacts, or this machine's own copy of a run logged to a server), else a verified copy
    of the run's remote ``<Task>`` artifacts in the local cache
    (``framework.store.remote_outputs``). ``refused`` says, per task, why a matching remote output
    was not used.
    """

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self._experiments: list[str] | None = None
        self.refused: dict[str, str] = {}

    def experiments(self) -> list[str]:
        if self._experiments is None:
            self._experiments = [e.experiment_id for e in self.client.search_experiments()]
        return self._experiments

    def _runs(self, task: str, condition: str = "", experiments: list[str] | None = None
              ) -> Iterable[Run]:
        """The newest runs that wrote ``task``'s output (and match ``condition``), in
        ``experiments`` (default: all). Runs that only reused it carry no ``output.<Task>``
        tag, so however often an output is reused, the run that made it stays in view."""
        experiments = experiments or self.experiments()
        if not experiments:
            return
        wrote = f"tags.`{output_tag(task)}` LIKE '%'"
        yield from self.client.search_runs(
            experiments, filter_string=f"{wrote} and {condition}" if condition else wrote,
            max_results=CANDIDATES, order_by=["attributes.start_time DESC"])

    def find(self, signature: Signature, required: Sequence[str] = ()
             ) -> tuple[str, Path] | None:
        """A verified output with exactly this signature, whose manifest is the one its run
        recorded: (producing run id, folder)."""
        task, digest = signature.task, signature.digest
        condition = f"tags.`{signature_tag(task)}` = '{digest}'"
        for run in self._runs(task, condition):
            recorded = run.data.tags.get(manifest_tag(task))
            if not recorded:  # still running, or it failed
                continue
            output, why = self.located(run, task, tuple(required), recorded)
            manifest = output.manifest() if output is not None else None
            if output is not None and (manifest or {}).get(names.MANIFEST_SIGNATURE_KEY) == digest:
                return run.info.run_id, output.path
            if why:
                self.refused.setdefault(task, why)
        return None

    def located(self, run: Run, task: str, required: tuple[str, ...], recorded: str
                ) -> tuple[OutputFolder | None, str]:
        """``run``'s verified output of ``task`` on this machine, else ``(None, why)`` (``why``
        empty when there is nothing to say: e.g. the folder was deleted)."""
        folder = Path(run.data.tags[output_tag(task)])
        remote_run = remote.is_remote(run.info.artifact_uri)
        if not remote_run or remote.is_own(folder):
            output = OutputFolder(folder, task, required)
            problem = output.problem()
            if problem is None and output.manifest_digest() == recorded:
                return output, ""
            if not remote_run:
                why = problem or "its manifest is not the one the run recorded (changed since)"
                shown = f"the output of run {run.info.run_id} does not verify: {why}"
                return None, shown if folder.is_dir() else ""
        # Made on another machine: only a key holder's signature makes it worth downloading.
        if refused := signing.refusal(run.info.run_id, run.data.tags, task, recorded):
            return None, refused
        fetched, why = remote.fetch(self.client, run, task, required, recorded)
        if fetched is None:
            why = f"the output of run {run.info.run_id} on the server does not verify: {why}"
        return fetched, why

    def recorded_digest(self, run_id: str, task: str) -> str | None:
        """The manifest digest run ``run_id`` recorded for ``task``, None if none or no run."""
        try:
            return self.client.get_run(run_id).data.tags.get(manifest_tag(task))
        except MlflowException:
            return None

    def earlier(self, task: str, experiment_id: str | None = None
                ) -> Iterator[tuple[str, Signature]]:
        """(experiment id, signature) of the newest recorded outputs of ``task`` in live runs,
        whatever made them, newest first: those of ``experiment_id``, or, when it has none
        (or is None or ""), those of every experiment. Only an output's manifest is read, and
        only when it is the one its run recorded: a reason names what made an output, and
        checking every file of twenty candidates per task would cost more than the plan.
        Deleted runs are not searched."""
        # The nearest output is one of the experiment's own whenever it has one
        # (planning/nearest.py), so other experiments are searched only when it has none.
        found = False
        for run in self._runs(task, experiments=[experiment_id]) if experiment_id else ():
            if signature := self._recorded_signature(run, task):
                found = True
                yield run.info.experiment_id, signature
        if not found:
            for run in self._runs(task):
                if signature := self._recorded_signature(run, task):
                    yield run.info.experiment_id, signature

    def _recorded_signature(self, run: Run, task: str) -> Signature | None:
        """The signature in the manifest of ``run``'s ``task`` output, if that manifest is
        still the one the run recorded."""
        recorded = run.data.tags.get(manifest_tag(task))
        if not recorded:  # still running, or it failed
            return None
        folder = Path(run.data.tags[output_tag(task)])
        if remote.is_remote(run.info.artifact_uri) and not remote.is_own(folder):
            manifest = remote.manifest(self.client, run, task, recorded)
        else:
            output = OutputFolder(folder, task)
            manifest = output.manifest() if output.manifest_digest() == recorded else None
        parts = (manifest or {}).get(names.MANIFEST_SIGNATURE_PARTS_KEY)
        return Signature.from_parts(parts) if isinstance(parts, dict) else None

    def experiment_id(self, name: str) -> str | None:
        """The id of the live experiment called ``name``, None when there is none yet."""
        found = self.client.get_experiment_by_name(name)
        return None if found is None or found.lifecycle_stage != "active" else found.experiment_id
