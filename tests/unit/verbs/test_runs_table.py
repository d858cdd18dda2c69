"""The `runs` table: which params differ, which columns fit the terminal, how a sweep child
whose parent is not listed is shown. The table itself, on real runs: tests/e2e/test_verbs.py."""

from __future__ import annotations

from framework.verbs import runs

TASKS = {"Preprocessor.train_file": "train.csv", "Preprocessor.target": "Survived",
         "Trainer.estimator": "sklearn.ensemble.GradientBoostingClassifier",
         "Trainer.estimator_params.max_depth": "3", "Evaluator.folds": "2"}


def test_a_param_differs_among_the_runs_that_ran_its_task_not_a_sweep_parent():
    children = [TASKS | {"Evaluator.seed": "3"}, TASKS | {"Evaluator.seed": "4"}]
    parent = {"sweep.Evaluator.seed": "[3, 4]"}  # a sweep's parent logs its grid only
    assert runs.differing([parent, *children]) == ["Evaluator.seed"]
    assert runs.differing([parent, TASKS]) == []
    other_sweep = {"sweep.Trainer.seed": "[0, 1]"}  # two sweeps over different params
    assert runs.differing([parent, other_sweep, TASKS]) == ["sweep.Evaluator.seed",
                                                            "sweep.Trainer.seed"]
    # A run that ran the task but lacks the param (another estimator's params) differs.
    other = {k: v for k, v in TASKS.items() if k != "Trainer.estimator_params.max_depth"}
    other |= {"Trainer.estimator": "sklearn.linear_model.RidgeClassifier",
              "Trainer.estimator_params.alpha": "1.0"}
    assert runs.differing([parent, TASKS, other]) == [
        "Trainer.estimator", "Trainer.estimator_params.alpha",
        "Trainer.estimator_params.max_depth"]
