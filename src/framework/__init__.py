"""The runner's engine, in layers; each package imports only from the packages below it.

    experiment   the command, one experiment, a sweep, what a run records
    execution    Luigi's build, claims between runners, work shared through luigid
    planning     the planner (run / reuse / pinned / skip, and why), [PathConfig] pins
    task         the task contract: RunTask, the registry, the run context, the DAG walk
    config|store the experiment file, overrides, schema, sweep spec | the tracking store
    outputs      verified output folders, task signatures
    core         errors, secrets, names of every tag and manifest key, processes, git, heap

``lint-imports`` (contracts in pyproject.toml) checks the order in CI; docs/architecture.md
walks one run through the layers. The engine never imports the pipeline (``tasks``,
``tabular``, ``titanic``): it finds the tasks at run time.
"""
