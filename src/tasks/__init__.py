"""The pipeline's tasks, one module each. Importing this package registers them.

Preprocessor -> Trainer -> Prediction (and Evaluator, which also needs the Trainer).
"""

from tasks.prediction import Prediction
from tasks.preprocessor import Preprocessor
from tasks.trainer import Trainer

__all__ = ["Prediction", "Preprocessor", "Trainer"]
