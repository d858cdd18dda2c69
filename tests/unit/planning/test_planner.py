"""The planner's decisions (run / reuse / pinned / skip) and their reasons, against an in-memory
index of earlier outputs and a three-task DAG: PlanSource -> PlanModel -> PlanReport."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import luigi
import pytest
from luigi.task import flatten

from framework.core import names
from framework.core.errors import UserError
from framework.outputs.folder import OutputFolder
from framework.outputs.signature import Signature
from framework.planning.planner import Decision, Planner, prune, render
from framework.task.dag import walk
from framework.task.run_task import RunTask

RUN = "planning"


class PlanSource(RunTask):
    p: int = luigi.IntParameter(default=0)  # type: ignore[assignment]

    def produce(self, out: Path) -> None:
        (out / "data.txt").write_text(str(self.p))


class PlanModel(RunTask):
    q: int = luigi.IntParameter(default=0)  # type: ignore[assignment]

    def requires(self) -> PlanSource:
        return self.upstream(PlanSource)

    def produce(self, out: Path) -> None:
        (out / "model.txt").write_text(str(self.q))


class PlanReport(RunTask):
    def requires(self) -> PlanModel:
        return self.upstream(PlanModel)

    def produce(self, out: Path) -> None:
        (out / "report.txt").write_text("ok")


class FakeIndex:
    """The part of ``store.index.OutputIndex`` the planner calls, held in memory."""

    def __init__(self) -> None:
        self.outputs: dict[str, tuple[str, Path]] = {}  # signature digest -> (run id, folder)
        self.history: dict[str, Signature] = {}  # task -> newest earlier signature
        self.recorded: dict[tuple[str, str], str] = {}  # (run id, task) -> manifest digest
        self.refused: dict[str, str] = {}
        self.found_required: list[tuple[str, tuple[str, ...]]] = []

    def find(self, signature: Signature, required: Sequence[str] = ()
             ) -> tuple[str, Path] | None:
        self.found_required.append((signature.task, tuple(required)))
        return self.outputs.get(signature.digest)

    def earlier(self, task: str, experiment_id: str | None = None
                ) -> Iterator[tuple[str, Signature]]:
        """Earlier outputs of ``task`` as (experiment id, signature), nearest first."""
        return iter([("1", self.history[task])] if task in self.history else [])

    def recorded_digest(self, run_id: str, task: str) -> str | None:
        return self.recorded.get((run_id, task))


def planner(index: FakeIndex, tmp_path: Path, **options: object) -> Planner:
    return Planner(index, tmp_path, pins=options.pop("pins", {}), **options)  # type: ignore[arg-type]


def plan(planner: Planner, *roots: RunTask) -> list[Decision]:
    return [planner.decide(task) for task in walk(list(roots))]


def signatures(tmp_path: Path, *roots: RunTask) -> dict[str, Signature]:
    """Each task's signature as a fresh planner over an empty store computes it."""
    return {d.task: d.signature for d in plan(planner(FakeIndex(), tmp_path), *roots)}


def pinned_folder(path: Path, signature: Signature, run_id: str = "r1",
                  with_parts: bool = True) -> OutputFolder:
    """A complete PlanSource output made by ``run_id`` with ``signature``."""
    record: dict[str, object] = {names.MANIFEST_RUN_KEY: run_id,
                                 names.MANIFEST_PARAMS_KEY: dict(signature.params),
                                 names.MANIFEST_SIGNATURE_KEY: signature.digest}
    if with_parts:
        record[names.MANIFEST_SIGNATURE_PARTS_KEY] = signature.parts()
    output = OutputFolder(path, "PlanSource")
    with output.writing(record) as staging:
        (staging / "data.txt").write_text("made earlier")
    return output


def test_an_empty_store_runs_every_task_upstream_first_saying_none_was_made(tmp_path: Path):
    decisions = plan(planner(FakeIndex(), tmp_path), PlanReport(run_id=RUN))
    assert [(d.task, d.action, d.reason) for d in decisions] == [
        ("PlanSource", "run", "no earlier PlanSource output"),
        ("PlanModel", "run", "no earlier PlanModel output"),
        ("PlanReport", "run", "no earlier PlanReport output"),
    ]
    assert all(d.folder is None and d.source_run is None and not d.forced for d in decisions)


def test_a_signature_covers_params_and_the_upstream_signature(tmp_path: Path):
    source, model, report = plan(planner(FakeIndex(), tmp_path), PlanReport(run_id=RUN))
    assert source.signature.params == {"p": "0"}
    assert source.signature.upstream == {}
    assert model.signature.params == {"q": "0"}
    assert model.signature.upstream == {"PlanSource": source.signature.digest}
    assert report.signature.upstream == {"PlanModel": model.signature.digest}
    assert source.signature.engine == {"output format": "2"}
    assert len({source.signature.digest, model.signature.digest, report.signature.digest}) == 3


def test_the_same_signature_is_reused_from_the_run_that_made_it(tmp_path: Path):
    index = FakeIndex()
    earlier = signatures(tmp_path, PlanSource(run_id=RUN))
    index.outputs[earlier["PlanSource"].digest] = ("r1", tmp_path / "r1" / "PlanSource")
    (decision,) = plan(planner(index, tmp_path), PlanSource(run_id=RUN))
    assert decision == Decision("PlanSource", "reuse", earlier["PlanSource"], "same signature",
                                tmp_path / "r1" / "PlanSource", "r1")


def test_the_task_s_required_files_are_asked_of_the_index(tmp_path: Path):
    class PlanNeedsFiles(PlanSource):
        required_files = ("data.txt", "model/")

    index = FakeIndex()
    plan(planner(index, tmp_path), PlanNeedsFiles(run_id=RUN))
    assert index.found_required == [("PlanNeedsFiles", ("data.txt", "model/"))]


def test_a_changed_parameter_is_named_with_its_old_and_new_value(tmp_path: Path):
    index = FakeIndex()
    index.history.update(signatures(tmp_path, PlanSource(run_id=RUN, p=0)))
    (decision,) = plan(planner(index, tmp_path), PlanSource(run_id=RUN, p=1))
    assert (decision.action, decision.reason) == ("run",
                                                  "new signature: parameter PlanSource.p 0 -> 1")


def test_a_changed_upstream_is_named(tmp_path: Path):
    index = FakeIndex()
    earlier = signatures(tmp_path, PlanModel(run_id=RUN))["PlanModel"]
    index.history["PlanModel"] = replace(earlier, upstream={"PlanSource": "an older digest"})
    decisions = plan(planner(index, tmp_path), PlanModel(run_id=RUN))
    assert [(d.task, d.reason) for d in decisions] == [
        ("PlanSource", "no earlier PlanSource output"),
        ("PlanModel", "new signature: upstream PlanSource changed"),
    ]


def test_several_differences_are_joined_in_one_reason(tmp_path: Path):
    index = FakeIndex()
    earlier = signatures(tmp_path, PlanSource(run_id=RUN, p=3))["PlanSource"]
    index.history["PlanSource"] = replace(earlier, libraries={**earlier.libraries,
                                                              "pandas": "0.1"})
    (decision,) = plan(planner(index, tmp_path), PlanSource(run_id=RUN, p=4))
    current = decision.signature.libraries["pandas"]
    assert decision.reason == ("new signature: parameter PlanSource.p 3 -> 4; "
                               f"library pandas 0.1 -> {current}")


def test_an_unusable_earlier_output_with_the_same_signature_says_so(tmp_path: Path):
    index = FakeIndex()  # the newest output has this signature, but find() found no good copy
    index.history.update(signatures(tmp_path, PlanSource(run_id=RUN)))
    (decision,) = plan(planner(index, tmp_path), PlanSource(run_id=RUN))
    assert (decision.action, decision.reason) == ("run", "new signature: earlier output unusable")


def test_a_refused_remote_output_gives_the_index_s_reason(tmp_path: Path):
    index = FakeIndex()
    index.history.update(signatures(tmp_path, PlanSource(run_id=RUN)))
    index.refused["PlanSource"] = "the output of run r9 on the server does not verify: bad"
    (decision,) = plan(planner(index, tmp_path), PlanSource(run_id=RUN))
    assert (decision.action, decision.reason) == (
        "run", "the output of run r9 on the server does not verify: bad")


def test_no_reuse_runs_even_what_is_in_the_store(tmp_path: Path):
    index = FakeIndex()
    earlier = signatures(tmp_path, PlanSource(run_id=RUN))
    index.outputs[earlier["PlanSource"].digest] = ("r1", tmp_path)
    (decision,) = plan(planner(index, tmp_path, reuse=False), PlanSource(run_id=RUN))
    assert (decision.action, decision.reason, decision.forced) == (
        "run", "reuse is off (--no-reuse)", False)
    assert index.found_required == []


def test_a_forced_task_and_everything_downstream_run_though_reusable(tmp_path: Path):
    index = FakeIndex()
    for task, signature in signatures(tmp_path, PlanReport(run_id=RUN)).items():
        index.outputs[signature.digest] = ("r1", tmp_path / task)
    decisions = plan(planner(index, tmp_path, force={"PlanModel"}), PlanReport(run_id=RUN))
    assert [(d.task, d.action, d.reason, d.forced) for d in decisions] == [
        ("PlanSource", "reuse", "same signature", False),
        ("PlanModel", "run", "forced (--force)", True),
        ("PlanReport", "run", "upstream PlanModel is forced", True),
    ]


def test_an_empty_pinned_folder_runs_into_that_folder(tmp_path: Path):
    pin = tmp_path / "pin"
    pin.mkdir()
    (decision,) = plan(planner(FakeIndex(), tmp_path, pins={"PlanSource": pin}),
                       PlanSource(run_id=RUN))
    assert (decision.action, decision.reason, decision.folder) == (
        "run", "pinned folder is empty", pin)


def test_a_pin_holding_no_complete_output_is_refused(tmp_path: Path):
    pin = tmp_path / "pin"
    pin.mkdir()
    (pin / "notes.txt").write_text("mine")
    with pytest.raises(UserError) as refused:
        plan(planner(FakeIndex(), tmp_path, pins={"PlanSource": pin}), PlanSource(run_id=RUN))
    assert str(refused.value) == (
        f"PathConfig.PlanSource = {pin} holds no complete PlanSource output (no readable "
        f"_manifest.json in {pin}); point it at a finished run's artifacts/PlanSource folder, "
        "or at an empty folder")


def test_a_matching_pin_vouched_for_by_its_run_is_used(tmp_path: Path):
    signature = signatures(tmp_path, PlanSource(run_id=RUN))["PlanSource"]
    output = pinned_folder(tmp_path / "pin", signature)
    index = FakeIndex()
    index.recorded[("r1", "PlanSource")] = str(output.manifest_digest())
    (decision,) = plan(planner(index, tmp_path, pins={"PlanSource": output.path}),
                       PlanSource(run_id=RUN))
    assert decision == Decision("PlanSource", "pinned", signature, "signature matches",
                                output.path, "r1")


def test_a_pin_whose_manifest_its_run_did_not_record_is_refused(tmp_path: Path):
    signature = signatures(tmp_path, PlanSource(run_id=RUN))["PlanSource"]
    output = pinned_folder(tmp_path / "pin", signature)
    index = FakeIndex()
    index.recorded[("r1", "PlanSource")] = "the digest of another manifest"
    with pytest.raises(UserError) as refused:
        plan(planner(index, tmp_path, pins={"PlanSource": output.path}), PlanSource(run_id=RUN))
    assert str(refused.value) == (
        f"PathConfig.PlanSource = {output.path} was made differently from what this config "
        "would make: its manifest is not the one run r1 recorded (changed since, or made in "
        "another store); remove the pin, or accept it with --accept-pin PlanSource")


def refused_pin(tmp_path: Path, **options: object) -> tuple[str, Path]:
    """The error of a pin made with p=0 under a config asking for p=1, and the pinned folder."""
    made = signatures(tmp_path, PlanSource(run_id=RUN, p=0))["PlanSource"]
    output = pinned_folder(tmp_path / "pin", made)
    index = FakeIndex()
    index.recorded[("r1", "PlanSource")] = str(output.manifest_digest())
    with pytest.raises(UserError) as refused:
        plan(planner(index, tmp_path, pins={"PlanSource": output.path}, **options),
             PlanSource(run_id=RUN, p=1))
    return str(refused.value), output.path


def test_a_pin_made_with_other_parameters_is_refused_naming_them(tmp_path: Path):
    error, folder = refused_pin(tmp_path)
    assert error == (
        f"PathConfig.PlanSource = {folder} was made differently from what this config "
        "would make: parameter PlanSource.p 0 -> 1; remove the pin, or accept it with "
        "--accept-pin PlanSource")


def test_under_reproduce_a_refused_pin_advises_the_same_reproduce_command(tmp_path: Path):
    error, _ = refused_pin(tmp_path, reproduces="0123abcd --verify")
    assert error.endswith("; to use it anyway: python src/runner.py reproduce 0123abcd --verify "
                          "--accept-pin PlanSource")


def test_an_accepted_mismatching_pin_keeps_the_signature_that_made_it(tmp_path: Path):
    configured = signatures(tmp_path, PlanSource(run_id=RUN))["PlanSource"]
    made = replace(configured, params={"p": "5"})  # the DAG's PlanSource has p = 0
    output = pinned_folder(tmp_path / "pin", made)
    index = FakeIndex()  # and no run recorded its manifest: both differences are named
    decisions = plan(planner(index, tmp_path, pins={"PlanSource": output.path},
                             accept={"PlanSource"}), PlanModel(run_id=RUN))
    source, model = decisions
    assert source == Decision(
        "PlanSource", "pinned", made,
        "ACCEPTED mismatch: its manifest is not the one run r1 recorded (changed since, or "
        "made in another store); parameter PlanSource.p 5 -> 0", output.path, "r1")
    # Downstream signatures build on what the pinned folder really holds.
    assert model.signature.upstream == {"PlanSource": made.digest}


def test_a_pin_that_records_no_signature_says_so(tmp_path: Path):
    made = signatures(tmp_path, PlanSource(run_id=RUN, p=0))["PlanSource"]
    output = pinned_folder(tmp_path / "pin", made, with_parts=False)
    index = FakeIndex()
    index.recorded[("r1", "PlanSource")] = str(output.manifest_digest())
    (decision,) = plan(planner(index, tmp_path, pins={"PlanSource": output.path},
                               accept={"PlanSource"}), PlanSource(run_id=RUN, p=1))
    assert (decision.action, decision.reason) == (
        "pinned", "ACCEPTED mismatch: it records no signature")
    assert decision.signature.params == {"p": "1"}  # nothing else to go on


def requires_of(*roots: RunTask) -> dict[str, list[str]]:
    return {task.task_family: [dep.task_family for dep in flatten(task.requires())]
            for task in walk(list(roots))}


def decision(task: str, action: str) -> Decision:
    return Decision(task, action, Signature(task, {}, {}, {}, {}), "why")  # type: ignore[arg-type]


def test_prune_skips_what_only_a_reused_task_needs():
    decisions = [decision("PlanSource", "run"), decision("PlanModel", "reuse"),
                 decision("PlanReport", "run")]
    pruned = prune(decisions, [PlanReport(run_id=RUN)], requires_of(PlanReport(run_id=RUN)))
    assert [(d.task, d.action, d.reason) for d in pruned] == [
        ("PlanSource", "skip", "not needed: what uses it is reused"),
        ("PlanModel", "reuse", "why"),
        ("PlanReport", "run", "why"),
    ]


def test_prune_keeps_what_a_running_task_needs_and_every_root():
    decisions = [decision("PlanSource", "run"), decision("PlanModel", "run"),
                 decision("PlanReport", "reuse")]
    roots = [PlanReport(run_id=RUN), PlanModel(run_id=RUN)]
    pruned = prune(decisions, roots, requires_of(*roots))
    assert pruned == decisions
    # With PlanReport alone as the root, nothing below the reused root is needed.
    alone = prune(decisions, roots[:1], requires_of(roots[0]))
    assert [d.action for d in alone] == ["skip", "skip", "reuse"]


def test_render_aligns_task_action_source_and_reason():
    signature = Signature("PlanSource", {}, {}, {}, {})
    text = render([
        Decision("PlanSource", "reuse", signature, "same signature", Path("/x"), "abc123"),
        Decision("PlanModel", "run", signature, "no earlier PlanModel output"),
        Decision("PlanReport", "skip", signature, "not needed: what uses it is reused"),
    ])
    assert text == (
        "  PlanSource     reuse   from run abc123 (same signature)\n"
        "  PlanModel      run     (no earlier PlanModel output)\n"
        "  PlanReport     skip    (not needed: what uses it is reused)")
    assert render([]) == ""
