from .base import BaseMetric
from .single_label import Accuracy, ConfusionMatrix, SingleLabelMetric

__all__ = ['BaseMetric', 'Accuracy', 'SingleLabelMetric', 'ConfusionMatrix']
