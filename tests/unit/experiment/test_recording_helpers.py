"""What a run records, the pure parts: table parameters flattened, the params an accepted pin
logs, the reused tasks and the lineage note of the run's description."""

from __future__ import annotations

from pathlib import Path

import luigi

from framework.core import names
from framework.experiment.recording import flattened, lineage_note, reused_tasks, task_params
from framework.outputs.folder import OutputFolder
from framework.outputs.signature import Signature
from framework.planning.planner import Decision
from framework.task.run_task import RunTask

SIGNATURE = Signature("RecFit", {}, {}, {}, {})


class RecFit(RunTask):
    seed: int = luigi.IntParameter(default=1)  # type: ignore[assignment]
    alpha: float = luigi.FloatParameter(default=0.5)  # type: ignore[assignment]

    def produce(self, out: Path) -> None:
        (out / "fit.txt").write_text("fit")


def made_by(folder: Path, params: dict[str, str] | None) -> Path:
    """A complete RecFit output whose manifest records ``params`` (or none)."""
    record: dict[str, object] = {names.MANIFEST_RUN_KEY: "r0"}
    if params is not None:
        record[names.MANIFEST_PARAMS_KEY] = params
    with OutputFolder(folder, "RecFit").writing(record) as staging:
        (staging / "fit.txt").write_text("fit")
    return folder


def test_table_parameters_are_flattened_key_by_key():
    params = {"T.params": '{"depth": 3, "rate": 0.5, "name": "x", "inner": {"cols": ["a", 1]}, '
                         '"empty": {}}',
              "T.seed": "1"}
    assert flattened(params) == {"T.params.depth": "3", "T.params.rate": "0.5",
                                 "T.params.name": "x", "T.params.inner.cols": '["a", 1]'}


def test_what_is_no_json_table_is_not_flattened():
    assert flattened({"T.a": "{not json", "T.b": "[1, 2]", "T.c": '{"x"', "T.d": "plain"}) == {}
    assert flattened({}) == {}


def test_a_flattened_key_never_replaces_a_real_parameter():
    assert flattened({"T.p": '{"q": 1, "r": 2}', "T.p.q": "mine"}) == {"T.p.r": "2"}


def test_reused_and_pinned_tasks_name_their_source_run():
    decisions = [Decision("A", "reuse", SIGNATURE, "same signature", Path("/a"), "r1"),
                 Decision("B", "pinned", SIGNATURE, "signature matches", Path("/b"), None),
                 Decision("C", "run", SIGNATURE, "no earlier C output"),
                 Decision("D", "skip", SIGNATURE, "not needed: what uses it is reused")]
    assert reused_tasks(decisions) == {"A": "r1", "B": "?"}
    assert reused_tasks([]) == {}


def test_a_task_logs_its_configured_params_unless_an_accepted_pin_made_it(tmp_path: Path):
    task = RecFit(run_id="planning")
    run = Decision("RecFit", "run", SIGNATURE, "no earlier RecFit output")
    pinned = Decision("RecFit", "pinned", SIGNATURE, "signature matches",
                      made_by(tmp_path / "pin", {"seed": "9", "alpha": "0.5"}), "r0")
    assert task_params(task, run) == ({"seed": "1", "alpha": "0.5"}, {})
    assert task_params(task, pinned) == ({"seed": "1", "alpha": "0.5"}, {})


def test_an_accepted_pin_logs_the_params_that_made_it_and_keeps_the_config_as_tags(
        tmp_path: Path):
    accepted = Decision("RecFit", "pinned", SIGNATURE,
                        "ACCEPTED mismatch: parameter RecFit.seed 9 -> 1",
                        made_by(tmp_path / "pin", {"seed": "9", "alpha": "0.5"}), "r0")
    assert task_params(RecFit(run_id="planning"), accepted) == (
        {"seed": "9", "alpha": "0.5"}, {"config.RecFit.seed": "1"})


def test_an_accepted_pin_without_recorded_params_logs_the_configured_ones(tmp_path: Path):
    accepted = Decision("RecFit", "pinned", SIGNATURE, "ACCEPTED mismatch: it records no "
                        "signature", made_by(tmp_path / "pin", None), "r0")
    params, _tags = task_params(RecFit(run_id="planning"), accepted)
    assert params == {"seed": "1", "alpha": "0.5"}


def test_the_lineage_note_links_each_reused_output_to_its_run():
    decisions = [
        Decision("A", "reuse", SIGNATURE, "same signature", Path("/a"), "0123456789abcdef"),
        Decision("B", "pinned", SIGNATURE, "signature matches", Path("/b"), "fedcba9876543210"),
        Decision("C", "pinned", SIGNATURE, "ACCEPTED mismatch: x", Path("/c"), None),
        Decision("D", "run", SIGNATURE, "no earlier D output"),
    ]
    note = lineage_note("My run.", decisions, {"0123456789abcdef": "7",
                                               "fedcba9876543210": "8"})
    assert note == (
        "My run.\n\n#### Reused outputs\n\n"
        "- **A**: reused from run [01234567](#/experiments/7/runs/0123456789abcdef"
        "?workflowType=machine_learning) (same signature)\n"
        "- **B**: pinned from run [fedcba98](#/experiments/8/runs/fedcba9876543210"
        "?workflowType=machine_learning) (signature matches)\n"
        "- **C**: pinned from run ? (ACCEPTED mismatch: x)")


def test_a_source_run_not_in_the_store_is_named_without_a_link():
    decisions = [Decision("A", "reuse", SIGNATURE, "same signature", Path("/a"), "elsewhere")]
    assert lineage_note("", decisions, {}) == (
        "#### Reused outputs\n\n- **A**: reused from run elsewhere (same signature)")


def test_without_reused_outputs_the_description_stays_as_it_is():
    decisions = [Decision("A", "run", SIGNATURE, "forced (--force)", forced=True)]
    assert lineage_note("My run.", decisions, {}) == "My run."
    assert lineage_note("", [], {}) == ""
