"""Collect predictions over a dataloader and compute the metrics.

Each rank adds its batches; :meth:`Evaluator.evaluate` gathers all ranks'
results (``world_size > 1``), keeps exactly one prediction per sample index,
orders them by sample index and runs every metric on the whole set.  The
result is therefore identical to a single-process evaluation, whatever the
number of ranks or the padding of the last batch.

Example:
    >>> ev = Evaluator([dict(type='Accuracy', topk=(1, 5))])  # doctest: +SKIP
    >>> ev.process(scores, labels, gt_labels, sample_idx)    # doctest: +SKIP
    >>> ev.evaluate()                                         # doctest: +SKIP
    {'accuracy/top1': 98.3, 'accuracy/top5': 100.0}
"""
from typing import Callable, Dict, List, Optional

import numpy as np

from mmcls_ms.registry import EVALUATORS, METRICS


@EVALUATORS.register_module()
class Evaluator:
    """Accumulates ``(scores, labels, gt, sample_idx)`` and evaluates metrics."""

    def __init__(self, metrics, gather_fn: Optional[Callable] = None):
        if isinstance(metrics, dict) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [METRICS.build(m) if isinstance(m, dict) else m for m in metrics]
        self.gather_fn = gather_fn
        self.reset()

    def reset(self) -> None:
        self._chunks: List[tuple] = []

    def process(self, pred_scores, pred_labels, gt_labels, sample_idx) -> None:
        self._chunks.append((np.asarray(pred_scores, np.float32),
                             np.asarray(pred_labels, np.int64),
                             np.asarray(gt_labels, np.int64),
                             np.asarray(sample_idx, np.int64)))

    def collected(self):
        """All predictions, de-duplicated and sorted by sample index."""
        if not self._chunks:
            raise RuntimeError('Evaluator: no predictions were collected; is the '
                               'dataloader empty?')
        scores, labels, gts, idx = (np.concatenate(x) for x in zip(*self._chunks))
        if self.gather_fn is not None:
            scores, labels, gts, idx = self.gather_fn(scores, labels, gts, idx)
        keep = idx >= 0  # negative indices mark padding
        scores, labels, gts, idx = scores[keep], labels[keep], gts[keep], idx[keep]
        idx, first = np.unique(idx, return_index=True)
        return scores[first], labels[first], gts[first], idx

    def evaluate(self) -> Dict[str, float]:
        scores, labels, gts, _ = self.collected()
        results = {}
        for metric in self.metrics:
            results.update(metric.evaluate(scores, labels, gts))
        return results
