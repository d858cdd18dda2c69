"""A run ends with its scores, and a plan's reasons are true: they compare with the nearest
earlier output that could have been reused, never with another dataset's (issue 18, items 1-2).

Two real runs (Titanic, then iris in its own experiment); the other questions are asked with
``--dry-run`` and one fully reused run, which cost no training.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from framework.core.names import MANIFEST_FILE, output_tag
from support.project import Project

IRIS = ("--config", "examples/iris.toml")
TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")


def reasons(stdout: str) -> dict[str, str]:
    """Task -> its plan line after the task name (action, source, reason)."""
    found = {}
    for line in stdout.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and parts[0] in TASKS and parts[1].split()[0] in ("run", "reuse"):
            found[parts[0]] = " ".join(parts[1].split())
    return found


def test_results_are_printed_and_reasons_name_what_differs(project: Project):
    first = project.run()  # the template's 2 folds
    assert first.returncode == 0, first.stderr
    run = project.runs()[0]
    mean, std = (run.data.metrics[f"cv_accuracy_{s}"] for s in ("mean", "std"))
    # The score closes the run, headline first, with its std.
    last = first.stdout.rstrip().splitlines()[-2:]
    assert last[0] == "result:"
    assert last[1].split(", ")[0].split() == ["Evaluator", "cv_accuracy", f"{mean:.4f}", "±",
                                              f"{std:.4f}"]

    # Another dataset, another experiment: nothing earlier is comparable.
    iris_plan = project.run(*IRIS, "--dry-run")
    assert iris_plan.returncode == 0, iris_plan.stderr
    assert reasons(iris_plan.stdout) == {task: f"run (no earlier {task} output)"
                                         for task in TASKS}
    iris = project.run(*IRIS)
    assert iris.returncode == 0, iris.stderr

    # The newest Evaluator output is now iris's: the reason still names the one difference.
    folds = project.run("--dry-run", "--set", "Evaluator.folds=10")
    assert folds.returncode == 0, folds.stderr
    assert reasons(folds.stdout)["Evaluator"] == (
        "run (new signature: parameter Evaluator.folds 2 -> 10)")
    assert reasons(folds.stdout)["Trainer"] == f"reuse from run {run.info.run_id} (same signature)"
    # A reason reads what made an earlier output from its recorded manifest alone: a damaged
    # data file (which rules out reuse) does not hide what differs.
    evaluator = Path(run.data.tags[output_tag("Evaluator")])
    damaged = sorted(path for path in evaluator.rglob("*")
                     if path.is_file() and path.name != MANIFEST_FILE)[0]
    intact = damaged.read_bytes()
    damaged.write_bytes(intact + b" ")
    try:
        folds = project.run("--dry-run", "--set", "Evaluator.folds=10")
    finally:
        damaged.write_bytes(intact)
    assert reasons(folds.stdout)["Evaluator"] == (
        "run (new signature: parameter Evaluator.folds 2 -> 10)")

    # Scores that come from an earlier output say so.
    again = project.run()
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith(f"(reused from run {run.info.run_id[:8]})")
    assert f"cv_accuracy {mean:.4f} ± {std:.4f}" in again.stdout

    # Deleted runs are not candidates, and iris's outputs are unrelated.
    MlflowClient(project.tracking_uri).delete_run(run.info.run_id)  # = `mlflow runs delete`
    deleted = project.run("--dry-run")
    assert deleted.returncode == 0, deleted.stderr
    assert reasons(deleted.stdout) == {task: f"run (no earlier {task} output)" for task in TASKS}
