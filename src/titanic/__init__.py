"""The Kaggle Titanic example: derived features only the Titanic data has.

Nothing in the framework or the generic tabular tasks imports this package; the shipped
``luigi.toml`` names its features in ``Preprocessor.derived_features``. Read it as an example of
adding dataset-specific features of your own.
"""
