from .evaluator import Evaluator
from .metrics import Accuracy, BaseMetric, ConfusionMatrix, SingleLabelMetric

__all__ = ['Evaluator', 'BaseMetric', 'Accuracy', 'SingleLabelMetric', 'ConfusionMatrix']
