"""The command: read ``.env`` and the experiment file, then run one experiment or a sweep.

The top of the engine's run: it knows an experiment (``framework.experiment.experiment``), a
grid or random sweep (``framework.experiment.sweep``) and an adaptive search
(``framework.experiment.study_run``), and none of them knows it. Luigi and MLflow are imported
only after the TOML file has been read, because importing Luigi parses its config and raises
on bad TOML.
"""

from __future__ import annotations

import os
from pathlib import Path

from framework.config import file as config_file
from framework.config.environment import load_environment
from framework.core.errors import ExitCode
from framework.experiment.options import Options


def run_experiment(options: Options, project_root: Path) -> ExitCode:
    """Run the experiment ``options`` describe; return the process exit code.

    Raises ``UserError`` (before any run exists) for bad input.
    """
    from framework.task.registry import load_tasks

    config = load_experiment(options, project_root)
    registry = load_tasks(config.run.modules)
    if config.sweep or options.sweeps:
        from framework.config import sweep_spec

        spec = sweep_spec.read_spec(config.sweep, options.sweeps, registry)
        if spec.adaptive:  # an Optuna study: framework/experiment/study_run.py
            from framework.experiment.study_run import run_study

            return run_study(config, spec, registry, options, project_root)
        from framework.experiment.sweep import run_sweep

        return run_sweep(config, spec, registry, options, project_root)
    from framework.experiment.experiment import run_single

    return run_single(config, registry, options, project_root)


def load_experiment(options: Options, project_root: Path) -> config_file.ExperimentConfig:
    """``.env`` and the experiment file with the command line's overrides applied."""
    load_environment(project_root)
    # --config is relative to where the command was started; LUIGI_CONFIG_PATH to the project.
    config_path = (options.config.resolve() if options.config
                   else project_root / os.environ["LUIGI_CONFIG_PATH"])
    # Paths in the config, and MLflow's default artifact root, are relative to the project.
    os.chdir(project_root)
    config = config_file.load_config(config_path, project_root, list(options.overrides),
                                     options.tasks)
    # The runner hands Luigi the checked config itself; Luigi must not parse the file again.
    os.environ.pop("LUIGI_CONFIG_PATH", None)
    return config
