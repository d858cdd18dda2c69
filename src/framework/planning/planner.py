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

from framework.core import names
from framework.core.errors import UserError
from framework.core.names import output_tag, signature_tag
from framework.outputs.folder import OutputFolder
from framework.outputs.signature import (
    Signature,
    code_digests,
    engine_version,
    explain,
    input_digests,
    library_versions,
)
from framework.planning.nearest import nearest
from framework.store.index import OutputIndex, stored_signature

if TYPE_CHECKING:

    from framework.task.run_task import RunTask

Action = Literal["run", "reuse", "pinned", "skip"]
# Re-exported: callers look outputs up and name tags through the planner's module.
__all__ = ["Decision", "OutputIndex", "Planner", "output_tag", "prune", "render",
           "signature_tag", "stored_signature"]


@dataclass(frozen=True)
class Decision:
    """What happens to one task. ``folder`` is None when it runs into the new run's artifacts."""

    task: str
    action: Action
    signature: Signature
    reason: str
    folder: Path | None = None
    source_run: str | None = None
    forced: bool = False  # runs whatever exists (--force, or downstream of a forced task)
    notes: tuple[str, ...] = ()  # the task's plan_notes(), printed under its line


class Planner:
    """Builds the ``Decision`` for each task; see the module docstring for the rules."""

    def __init__(self, index: OutputIndex, source_root: Path, *, pins: Mapping[str, Path],
                 force: Collection[str] = (), accept: Collection[str] = (),
                 reuse: bool = True, experiment: str = "", reproduces: str = "") -> None:
        self.index = index
        # Reasons compare with the nearest earlier output, preferably of this experiment
        # ("" when it does not exist yet; None: no experiment given, every output compares).
        self.experiment_id = (index.experiment_id(experiment) or "") if experiment else None
        self.source_root = source_root
        self.pins = pins
        self.force = set(force)
        self.accept = set(accept)
        self.reuse = reuse
        self.reproduces = reproduces  # ``reproduce``'s arguments, when it started this run
        self.decisions: dict[str, Decision] = {}
        self.forced: set[str] = set()
        self.libraries = library_versions()
        self.engine = engine_version()

    def signature(self, task: RunTask) -> Signature:
        """``task``'s signature; upstream tasks must have been decided already."""
        upstream = {dep.task_family: self.decisions[dep.task_family].signature.digest
                    for dep in flatten(task.requires())}
        params = {**task.parameters(), **task.borrowed_parameters()}
        return Signature(task.task_family, params, upstream,
                         input_digests(task.raw_inputs()),
                         code_digests(task.code_modules(), self.source_root), self.libraries,
                         self.engine)

    def decide(self, task: RunTask) -> Decision:
        name = task.task_family
        signature = self.signature(task)
        upstream_forced = {dep.task_family for dep in flatten(task.requires())} & self.forced
        if name in self.force or upstream_forced:
            self.forced.add(name)
            why = ("forced (--force)" if name in self.force
                   else f"upstream {min(upstream_forced)} is forced")
            decision = Decision(name, "run", signature, why, forced=True)
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
        source = str(manifest.get(names.MANIFEST_RUN_KEY, "?"))
        # The recorded digest, not one recomputed from the parts: those are stored redacted.
        same = manifest.get(names.MANIFEST_SIGNATURE_KEY) == signature.digest
        differences = [] if self.vouched_for(output, source) else [
            f"its manifest is not the one run {source} recorded (changed since, or made in "
            "another store)"]
        if same and not differences:
            return Decision(name, "pinned", signature, "signature matches", output.path, source)
        if not same:
            differences += explain(stored, signature) if stored else ["it records no signature"]
        if name not in self.accept:
            # A reproduced run's config is the recorded one: its pin cannot be removed there.
            advice = (f"to use it anyway: python src/runner.py reproduce {self.reproduces} "
                      f"--accept-pin {name}" if self.reproduces else
                      f"remove the pin, or accept it with --accept-pin {name}")
            raise UserError(f"PathConfig.{name} = {output.path} was made differently from what "
                            f"this config would make: {'; '.join(differences)}; {advice}")
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
        previous = nearest(self.index.earlier(name, self.experiment_id), signature,
                           self.experiment_id)
        if previous is None:
            return Decision(name, "run", signature, f"no earlier {name} output")
        changes = previous[1]
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
        lines.extend(f"    {decision.task}: {note}" for note in decision.notes)
    return "\n".join(lines)
