"""The runner's framework: configuration, MLflow tracking, verified outputs and Luigi execution.

It knows no pipeline and no dataset: tasks live in ``src/tasks`` (found by ``registry``), the
ML logic in ``src/tabular``, and dataset-specific examples such as ``src/titanic`` apart.
"""
