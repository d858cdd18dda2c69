"""The runner's framework: configuration, MLflow tracking, verified outputs and Luigi execution.

Nothing in here knows about the Titanic example; tasks live in ``src/tasks`` and their ML logic
in ``src/titanic``.
"""
