"""Titanic example: the pure ML logic (data, features, model, evaluation, submission).

Nothing in this package imports luigi or mlflow, so every function can be unit-tested and
reused without a scheduler or a tracking server.
"""
