"""Deciding, before a run starts, which tasks run and which reuse an existing output.

For every task of the DAG (upstream first) the planner computes its signature and decides:
- ``pinned``: ``[PathConfig]`` names a complete folder; it is used only if its signature matches
  (or the user accepted the difference, which is then recorded);
- ``reuse``: an earlier run in the tracking store produced a verified output with the same
  signature (found through the run tag ``signature.<Task>``), whose manifest is still the one
  that run recorded (tag ``manifest.<Task>``: the digest of the manifest's bytes);
- ``run``: anything else, with the reason (what changed since the last output of that task).
A forced task, and everything downstream of it, always runs. Finally, a task planned to run
whose every consumer is reused becomes ``skip``: Luigi will never need it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from luigi.task import flatten
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from framework import remote
from framework.errors import UserError
from framework.outputs import OutputFolder, manifest_tag
from framework.signature import Signature, code_digests, explain, input_digests, library_versions

if TYPE_CHECKING:
    from mlflow.entities import Run

    from framework.run_task import RunTask

Action = Literal["run", "reuse", "pinned", "skip"]
CANDIDATES = 20  # newest matching runs examined before giving up on reuse


def signature_tag(task: str) -> str:
    return f"signature.{task}"


def output_tag(task: str) -> str:
    return f"output.{task}"


@dataclass(frozen=True)
class Decision:
    """What happens to one task. ``folder`` is None when it runs into the new run's artifacts."""

    task: str
    action: Action
    signature: Signature
    reason: str
    folder: Path | None = None
    source_run: str | None = None


def stored_signature(output: OutputFolder) -> Signature | None:
    manifest = output.manifest() or {}
    parts = manifest.get("signature_parts")
    return Signature.from_parts(parts) if isinstance(parts, dict) else None


class OutputIndex:
    """Finds earlier outputs of a task in the tracking store by the runs' signature tags.

    An output is used from where its run keeps it: a folder of this machine (the run's
    artifacts, or this machine's own copy of a run logged to a server), else a verified copy
    of the run's remote ``<Task>`` artifacts in the local cache (``framework.remote``).
    ``refused`` says, per task, why a matching remote output was not used.
    """

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self._experiments: list[str] | None = None
        self.refused: dict[str, str] = {}

    def experiments(self) -> list[str]:
        if self._experiments is None:
            self._experiments = [e.experiment_id for e in self.client.search_experiments()]
        return self._experiments

    def _runs(self, task: str, condition: str = "") -> Iterable[Run]:
        """The newest runs that wrote ``task``'s output (and match ``condition``). Runs that
        only reused it carry no ``output.<Task>`` tag, so however often an output is reused,
        the run that made it stays in view."""
        if not self.experiments():
            return
        wrote = f"tags.`{output_tag(task)}` LIKE '%'"
        yield from self.client.search_runs(
            self.experiments(), filter_string=f"{wrote} and {condition}" if condition else wrote,
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
            if output is not None and (output.manifest() or {}).get("signature") == digest:
                return run.info.run_id, output.path
            if why:
                self.refused.setdefault(task, f"the output of run {run.info.run_id} on the "
                                              f"server does not verify: {why}")
        return None

    def located(self, run: Run, task: str, required: tuple[str, ...], recorded: str
                ) -> tuple[OutputFolder | None, str]:
        """``run``'s verified output of ``task`` on this machine, else ``(None, why)``."""
        folder = Path(run.data.tags[output_tag(task)])
        remote_run = remote.is_remote(run.info.artifact_uri)
        if not remote_run or remote.is_own(folder):
            output = OutputFolder(folder, task, required)
            if output.exists() and output.manifest_digest() == recorded:
                return output, ""
            if not remote_run:
                return None, ""
        return remote.fetch(self.client, run, task, required, recorded)

    def recorded_digest(self, run_id: str, task: str) -> str | None:
        """The manifest digest run ``run_id`` recorded for ``task``, None if none or no run."""
        try:
            return self.client.get_run(run_id).data.tags.get(manifest_tag(task))
        except MlflowException:
            return None

    def latest(self, task: str) -> Signature | None:
        """The signature of the newest complete output of ``task``, whatever it was (for a
        remote one, read from its manifest alone, which must be the one its run recorded)."""
        for run in self._runs(task):
            folder = Path(run.data.tags[output_tag(task)])
            recorded = run.data.tags.get(manifest_tag(task))
            if remote.is_remote(run.info.artifact_uri) and not remote.is_own(folder):
                manifest = remote.manifest(self.client, run, task, recorded) if recorded else None
                parts = (manifest or {}).get("signature_parts")
                found = Signature.from_parts(parts) if isinstance(parts, dict) else None
            else:
                output = OutputFolder(folder, task)
                found = stored_signature(output) if output.exists() else None
            if found is not None:
                return found
        return None


class Planner:
    """Builds the ``Decision`` for each task; see the module docstring for the rules."""

    def __init__(self, index: OutputIndex, source_root: Path, *, pins: Mapping[str, Path],
                 force: Collection[str] = (), accept: Collection[str] = (),
                 reuse: bool = True) -> None:
        self.index = index
        self.source_root = source_root
        self.pins = pins
        self.force = set(force)
        self.accept = set(accept)
        self.reuse = reuse
        self.decisions: dict[str, Decision] = {}
        self.forced: set[str] = set()
        self.libraries = library_versions()

    def signature(self, task: RunTask) -> Signature:
        """``task``'s signature; upstream tasks must have been decided already."""
        upstream = {dep.task_family: self.decisions[dep.task_family].signature.digest
                    for dep in flatten(task.requires())}
        return Signature(task.task_family, task.parameters(), upstream,
                         input_digests(task.raw_inputs()),
                         code_digests(task.code_modules(), self.source_root), self.libraries)

    def decide(self, task: RunTask) -> Decision:
        name = task.task_family
        signature = self.signature(task)
        upstream_forced = {dep.task_family for dep in flatten(task.requires())} & self.forced
        if name in self.force or upstream_forced:
            self.forced.add(name)
            why = ("forced (--force)" if name in self.force
                   else f"upstream {min(upstream_forced)} is forced")
            decision = Decision(name, "run", signature, why)
        elif name in self.pins:
            decision = self.pinned(name, signature,
                                   OutputFolder(self.pins[name], name, task.required_files))
        else:
            decision = self.found_or_run(signature, task.required_files)
        self.decisions[name] = decision
        return decision

    def pinned(self, name: str, signature: Signature, output: OutputFolder) -> Decision:
        if output.is_empty():
            return Decision(name, "run", signature, "pinned folder is empty", output.path)
        if not output.exists():
            raise UserError(f"PathConfig.{name} = {output.path} holds no complete {name} output "
                            f"({output.problem()}); point it at a finished run's "
                            f"artifacts/{name} folder, or at an empty folder")
        stored = stored_signature(output)
        manifest = output.manifest() or {}
        source = str(manifest.get("run_id", "?"))
        # The recorded digest, not one recomputed from the parts: those are stored redacted.
        same = manifest.get("signature") == signature.digest
        differences = [] if self.vouched_for(output, source) else [
            f"its manifest is not the one run {source} recorded (changed since, or made in "
            "another store)"]
        if same and not differences:
            return Decision(name, "pinned", signature, "signature matches", output.path, source)
        if not same:
            differences += explain(stored, signature) if stored else ["it records no signature"]
        if name not in self.accept:
            raise UserError(f"PathConfig.{name} = {output.path} was made differently from what "
                            f"this config would make: {'; '.join(differences)}; remove the pin, "
                            f"or accept it with --accept-pin {name}")
        return Decision(name, "pinned", stored or signature,
                        "ACCEPTED mismatch: " + "; ".join(differences), output.path, source)

    def vouched_for(self, output: OutputFolder, run_id: str) -> bool:
        """True when ``output``'s manifest is byte for byte the one its run recorded."""
        recorded = self.index.recorded_digest(run_id, output.task)
        return recorded is not None and recorded == output.manifest_digest()

    def found_or_run(self, signature: Signature, required: Sequence[str] = ()) -> Decision:
        name = signature.task
        if not self.reuse:
            return Decision(name, "run", signature, "reuse is off (--no-reuse)")
        found = self.index.find(signature, required)
        if found is not None:
            run_id, folder = found
            return Decision(name, "reuse", signature, "same signature", folder, run_id)
        if name in self.index.refused:
            return Decision(name, "run", signature, self.index.refused[name])
        previous = self.index.latest(name)
        if previous is None:
            return Decision(name, "run", signature, f"no earlier {name} output")
        changes = explain(previous, signature)
        return Decision(name, "run", signature,
                        "new signature: " + ("; ".join(changes) or "earlier output unusable"))


def prune(decisions: list[Decision], roots: Iterable[RunTask], requires: Mapping[str, list[str]]
          ) -> list[Decision]:
    """Mark ``run`` decisions that no running task (nor a root) needs as ``skip``.

    ``requires`` maps each task to the names of its upstream tasks. Luigi does not look
    upstream of a complete task, so only tasks reachable from the roots through tasks that
    run will run.
    """
    by_name = {d.task: d for d in decisions}
    needed: set[str] = set()
    pending = [root.task_family for root in roots]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        if by_name[name].action == "run":
            pending.extend(requires[name])
    return [d if d.action != "run" or d.task in needed
            else replace(d, action="skip", reason="not needed: what uses it is reused")
            for d in decisions]


def render(decisions: Iterable[Decision]) -> str:
    """The plan as the text ``--dry-run`` prints and every run logs as ``plan.txt``."""
    lines = []
    for decision in decisions:
        where = f"from run {decision.source_run}" if decision.source_run else ""
        lines.append(f"  {decision.task:<14} {decision.action:<7} {where}"
                     f"{' ' if where else ''}({decision.reason})".rstrip())
    return "\n".join(lines)
