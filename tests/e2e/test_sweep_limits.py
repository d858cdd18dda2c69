"""A sweep's size is bounded before it is expanded (issue 17, item 3): the attacks as written,
refused with one line and no run; a large grid says how far checking got."""

from __future__ import annotations

import json

from support.project import SEED_CONFIG, Project, one_line_error

THOUSAND = json.dumps(list(range(1000)))
EVALUATED = SEED_CONFIG.replace('task="Prediction"', 'task=["Evaluator", "Prediction"]')


def test_a_million_configurations_are_refused_before_expanding(project: Project):
    project.write_config(SEED_CONFIG)
    result = project.run("--sweep", f"Trainer.seed={THOUSAND}",
                         "--sweep", f"Evaluator.seed={THOUSAND}", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert "1,000,000 configurations" in line and "max_configurations = 10,000" in line
    assert "--sweep max_configurations=1000000" in line
    assert project.all_runs() == []


def test_a_billion_samples_are_refused(project: Project):
    project.write_config(SEED_CONFIG)
    result = project.run("--sweep", "method=random", "--sweep", "samples=1000000000",
                         "--sweep", "Trainer.estimator_params.alpha={uniform=[0.1, 1]}",
                         timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "1,000,000,000 configurations (samples)" in one_line_error(result)
    assert project.all_runs() == []


def test_checking_a_large_grid_shows_progress_and_names_the_bad_configuration(
        project: Project):
    project.write_config(EVALUATED)
    seeds = json.dumps([*range(1000), -1])
    result = project.run("--sweep", f"Evaluator.seed={seeds}", timeout=180)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "checked 1,000/1,001 configurations" in result.stdout
    assert "sweep configuration 1001/1001 (Evaluator.seed=-1)" in one_line_error(result)
    assert project.all_runs() == []
