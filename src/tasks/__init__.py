"""The generic tabular pipeline, one module per task; the runner imports every module here.

Preprocessor -> Trainer -> Prediction, and Evaluator (cross-validation) beside Prediction.
Adding a task is adding a module: nothing here lists them, because this file's code enters
every task's signature.
"""
