"""The metric interface: ``process`` batches, then ``compute`` once.

Unlike mmengine's ``BaseMetric``, metrics here receive numpy arrays, not
DataSamples: ``pred_scores`` (N, C) softmax scores, ``pred_labels`` (N,) and
``gt_labels`` (N,).  The :class:`~mmcls_ms.evaluation.Evaluator` gathers the
results of every rank and de-duplicates them by sample index before
``compute`` runs, so distributed evaluation counts every sample once.
"""
from abc import ABC, abstractmethod
from typing import Dict, Optional

import numpy as np


class BaseMetric(ABC):
    """Keeps the default ``prefix`` and turns results into named values."""

    default_prefix: Optional[str] = None

    def __init__(self, prefix: Optional[str] = None, collect_device: str = 'cpu'):
        self.prefix = prefix or self.default_prefix

    @abstractmethod
    def compute(self, pred_scores: np.ndarray, pred_labels: np.ndarray,
                gt_labels: np.ndarray) -> Dict[str, float]:
        """The metric values (without the prefix) of the whole set."""

    def evaluate(self, pred_scores, pred_labels, gt_labels) -> Dict[str, float]:
        """Compute and prefix the metric values (``accuracy/top1``)."""
        values = self.compute(np.asarray(pred_scores), np.asarray(pred_labels),
                              np.asarray(gt_labels))
        return {f'{self.prefix}/{k}' if self.prefix else k: v for k, v in values.items()}
