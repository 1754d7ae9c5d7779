"""Single-label classification metrics: Accuracy, SingleLabelMetric, ConfusionMatrix.

Values are percentages, as in mmpretrain.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    >>> Accuracy(topk=(1,)).evaluate(scores, scores.argmax(1), np.array([1, 0, 0]))
    {'accuracy/top1': 66.66666666666667}
"""
import warnings
from typing import Sequence, Union

import numpy as np

from mmcls_ms.registry import METRICS
from .base import BaseMetric


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent: ``accuracy/top1``, ``accuracy/top5``.

    A prediction counts when the label is among the k highest scores and, with
    ``thrs``, its score exceeds the threshold.  ``topk`` values larger than the
    number of classes are skipped with no key (and a warning); when all are,
    the metric refuses.
    """

    default_prefix = 'accuracy'

    def __init__(self, topk: Union[int, Sequence[int]] = (1,),
                 thrs: Union[float, Sequence[float], None] = 0., **kwargs):
        super().__init__(**kwargs)
        self.topk = _as_tuple(topk)
        bad = [k for k in self.topk if isinstance(k, bool) or not isinstance(k, int) or k < 1]
        if bad or not self.topk:
            raise ValueError(f'Accuracy: topk must be positive ints such as (1, 5), got '
                             f'{topk!r}. Fix `topk` of the Accuracy metric in the evaluator '
                             'config (val_evaluator / test_evaluator, or --metric).')
        self.thrs = _as_tuple(thrs) if thrs is not None else (None,)

    def compute(self, pred_scores, pred_labels, gt_labels):
        num = len(gt_labels)
        if num == 0:
            raise ValueError('Accuracy: no samples were evaluated.')
        num_classes = pred_scores.shape[1]
        # ranks of the classes by score, stable for ties
        order = np.argsort(-pred_scores, axis=1, kind='stable')
        gt_scores = pred_scores[np.arange(num), gt_labels]
        kept = [k for k in self.topk if k <= num_classes]
        if not kept:
            raise ValueError(
                f'Accuracy: every topk value {self.topk} exceeds the {num_classes} classes of '
                f'the predictions, so there is nothing to report. Use topk values <= '
                f'{num_classes} in the evaluator config.')
        if len(kept) < len(self.topk):
            warnings.warn(f'Accuracy: top-k for k > {num_classes} (the number of classes) '
                          f'is not reported: topk {self.topk} gives only {tuple(kept)}.')
        results = {}
        for k in kept:
            hit = (order[:, :k] == gt_labels[:, None]).any(axis=1)
            for thr in self.thrs:
                correct = hit if not thr else hit & (gt_scores > thr)
                name = f'top{k}' if len(self.thrs) == 1 else f'top{k}_thr-{thr:.2f}'
                results[name] = float(correct.sum()) * 100.0 / num
        return results


@METRICS.register_module()
class SingleLabelMetric(BaseMetric):
    """Precision, recall and F1 per class, averaged ('macro', 'micro' or None)."""

    default_prefix = 'single-label'

    def __init__(self, thrs: float = 0., items=('precision', 'recall', 'f1-score'),
                 average: str = 'macro', num_classes: int = None, **kwargs):
        super().__init__(**kwargs)
        allowed = {'precision', 'recall', 'f1-score', 'support'}
        if not set(items) <= allowed:
            raise ValueError(f'SingleLabelMetric: items must be among {sorted(allowed)}')
        if average not in ('macro', 'micro', None):
            raise ValueError("SingleLabelMetric: average must be 'macro', 'micro' or None")
        self.thrs = thrs
        self.items = tuple(items)
        self.average = average
        self.num_classes = num_classes

    def compute(self, pred_scores, pred_labels, gt_labels):
        num_classes = self.num_classes or pred_scores.shape[1]
        pred = pred_labels.copy()
        if self.thrs:
            pred[pred_scores.max(axis=1) <= self.thrs] = -1
        gt_onehot = np.eye(num_classes, dtype=bool)[gt_labels]
        pred_onehot = np.zeros_like(gt_onehot)
        valid = pred >= 0
        pred_onehot[np.arange(len(pred))[valid], pred[valid]] = True
        tp = (gt_onehot & pred_onehot).sum(0).astype(np.float64)
        fp = (~gt_onehot & pred_onehot).sum(0).astype(np.float64)
        fn = (gt_onehot & ~pred_onehot).sum(0).astype(np.float64)
        if self.average == 'micro':
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        with np.errstate(divide='ignore', invalid='ignore'):
            precision = np.nan_to_num(tp / (tp + fp)) * 100
            recall = np.nan_to_num(tp / (tp + fn)) * 100
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        values = {'precision': precision, 'recall': recall, 'f1-score': f1,
                  'support': gt_onehot.sum(0).astype(np.float64)}
        out = {}
        for item in self.items:
            value = values[item]
            if self.average == 'macro':
                value = value.sum() if item == 'support' else value.mean()
            if np.ndim(value) == 0:
                out[item] = float(value)
            else:
                out[f'{item}_classwise'] = value.tolist()
        return out


@METRICS.register_module()
class ConfusionMatrix(BaseMetric):
    """The confusion matrix: rows are ground truth, columns predictions."""

    default_prefix = 'confusion_matrix'

    def __init__(self, num_classes: int = None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def compute(self, pred_scores, pred_labels, gt_labels):
        n = self.num_classes or pred_scores.shape[1]
        matrix = np.zeros((n, n), dtype=np.int64)
        np.add.at(matrix, (gt_labels, pred_labels), 1)
        return {'result': matrix}
