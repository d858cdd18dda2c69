"""The pipeline's tasks, one module each. Importing this package registers them.

Preprocessor -> Trainer -> Prediction, and Evaluator (cross-validation) beside Prediction.
"""

from tasks.evaluator import Evaluator
from tasks.prediction import Prediction
from tasks.preprocessor import Preprocessor
from tasks.trainer import Trainer

__all__ = ["Evaluator", "Prediction", "Preprocessor", "Trainer"]
