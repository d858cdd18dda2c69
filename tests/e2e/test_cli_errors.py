"""Bad input on the command line itself: one line naming the problem and the fix, exit 2, no
run, never argparse's usage block or a traceback."""

from __future__ import annotations

import pytest

from support.project import Project, one_line_error

BAD_ARGUMENTS = {
    "not a number of workers": (["--workers", "abc"],
                                "python src/runner.py run: argument --workers: invalid int "
                                "value: 'abc' (see --help)"),
    "unknown option": (["--bogus"], "unrecognized arguments: --bogus (see --help)"),
    "unknown option after run": (["run", "--bogus"], "unrecognized arguments: --bogus"),
    # No prefix matching: a shortened option is unknown, never silently another one.
    "a prefix of --workers": (["--worker", "2"], "unrecognized arguments: --worker 2 (did you "
                                                 "mean '--workers'? see --help)"),
    "a prefix of --dry-run": (["--dry"], "unrecognized arguments: --dry (did you mean "
                                         "'--dry-run'? see --help)"),
    "a prefix of a verb's option": (["runs", "--lim", "3"],
                                    "python src/runner.py runs: unrecognized arguments: --lim 3 "
                                    "(did you mean '--limit'? see --help)"),
    "mistyped verb": (["rnus"], "unknown verb 'rnus' (did you mean 'runs'?); verbs: run, runs, "
                                "diff, reproduce, gc"),
    "a config file as verb": (["exp.toml"], "unknown verb 'exp.toml' (for another experiment "
                                            "file: --config exp.toml)"),
    "an unknown task from --task": (["--task", "Evaluater"],
                                     "error: --task 'Evaluater': unknown task 'Evaluater' (did you "
                                     "mean 'Evaluator'?); known tasks: "),
    "--accept-pin of a task nothing pins": (["--accept-pin", "Trainer"],
                                            "error: --accept-pin Trainer: [PathConfig] pins no "
                                            "Trainer output; remove the flag"),
    "a misspelt sort order": (["runs", "--sort", "metrics.cv_accuracy_mean DSC"],
                              "; use MLflow's order syntax, e.g. --sort "
                              "\"metrics.cv_accuracy_mean DESC\" (ASC or DESC)"),
    "unknown encoding": (["--set", 'Preprocessor.encoding="nope"'],
                         "Preprocessor.encoding = 'nope' is not a text encoding Python knows"),
    "a codec that is not text": (["--set", 'Preprocessor.encoding="base64"'],
                                 "Preprocessor.encoding = 'base64' is not a text encoding"),
    "a --set folder that is none": (["--set", "PathConfig.input=./nowhere/"],
                                    "error: --set 'PathConfig.input=./nowhere/': "
                                    "PathConfig.input = './nowhere/' points to "),
    # A value a task's check() refuses names the --set flag that set it, and the right key.
    "a --set seed the estimator refuses": (["--set", "Trainer.seed=-5"],
                                           "error: --set 'Trainer.seed=-5': Trainer: invalid "
                                           "Trainer.seed (the estimator's random_state) for "),
    "a --set estimator param": (["--set", "Trainer.estimator_params.max_depth=-1"],
                                "error: --set 'Trainer.estimator_params.max_depth=-1': Trainer: "
                                "invalid Trainer.estimator_params for "),
    "a --set seed in a sweep": (["--set", "Trainer.seed=-5", "--sweep",
                                 "Trainer.estimator_params.max_depth=[2,3]"],
                                "error: sweep configuration 1/2 (Trainer.estimator_params."
                                "max_depth=2): --set 'Trainer.seed=-5': Trainer: invalid "
                                "Trainer.seed (the estimator's random_state) for "),
    "two --set keys of one table": (["--set", "Trainer.estimator_params.max_depth=-1", "--set",
                                     "Trainer.estimator_params.n_estimators=10"],
                                    "error: --set 'Trainer.estimator_params.max_depth=-1' "
                                    "--set 'Trainer.estimator_params.n_estimators=10': Trainer: "
                                    "invalid Trainer.estimator_params for "),
    "a --set folds": (["--set", "Evaluator.folds=1"],
                      "error: --set 'Evaluator.folds=1': Evaluator.folds = 1: cross-validation "
                      "needs at least 2 folds"),
    "a --set empty experiment name": (["--set", 'RunConfig.experiment_name=""'],
                                      "error: --set 'RunConfig.experiment_name=\"\"': "
                                      "RunConfig.experiment_name must be a non-empty string"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_are_one_line_exit_2_and_no_run(project: Project, case: str):
    args, expected = BAD_ARGUMENTS[case]
    result = project.run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in one_line_error(result)
    assert project.all_runs() == []


@pytest.mark.parametrize("args", [("runs", "--format", "csv"), ("runs",), ("--dry-run",)])
def test_output_into_a_pipe_nobody_reads_ends_quietly_with_141(project: Project, args):
    """``runs | head -1``: the reader goes away; no BrokenPipeError traceback, and the exit
    code the shell gives a Unix tool killed by SIGPIPE (128 + 13)."""
    project.cold = True  # a real pipe, from a fresh interpreter
    process = project.start(*args)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # gone before the first line is written
    errors = process.stderr.read()
    assert process.wait(timeout=120) == 141, errors
    assert errors == ""
    assert project.all_runs() == []
