from .evaluator import Evaluator
from .metrics import Accuracy, BaseMetric, ConfusionMatrix, SingleLabelMetric
from .results import Results, load_results

__all__ = ['Evaluator', 'BaseMetric', 'Accuracy', 'SingleLabelMetric', 'ConfusionMatrix',
           'Results', 'load_results']
