"""``CrossEntropyLoss``: softmax cross entropy with optional label smoothing.

With smoothing ``eps`` the target is ``(1 - eps) * one_hot + eps / C``, the
convention of ``torch.nn.functional.cross_entropy(label_smoothing=eps)`` and
of MindCV's ``CrossEntropySmooth``.  Labels are int class indices ``(N,)`` or
soft targets ``(N, C)`` (Mixup/CutMix), as with torch's cross entropy.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.registry import MODELS


def soft_cross_entropy(logits, soft_targets):
    """Per-sample ``-sum(target * log_softmax(logits))``."""
    return -(soft_targets * ops.log_softmax(logits.astype(ms.float32), axis=-1)).sum(axis=-1)


@MODELS.register_module()
class CrossEntropyLoss(nn.Cell):
    """Softmax cross entropy on int labels.

    Args:
        loss_weight: multiplies the loss.
        label_smoothing: smoothing ``eps`` in [0, 1).
        reduction: 'mean', 'sum' or 'none'.
        class_weight: optional per-class weights (a sample's loss is scaled by
            the weight of its label; 'mean' still divides by the batch size,
            as mmpretrain does).
        use_soft: mmpretrain's soft-target mode; soft ``(N, C)`` targets
            work with either value (they are what batch augments produce).
        use_sigmoid: mmpretrain's multi-label mode; not supported.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> loss = CrossEntropyLoss(label_smoothing=0.1)
        >>> logits = ms.Tensor(np.zeros((2, 4), np.float32))
        >>> round(float(loss(logits, ms.Tensor([0, 3], ms.int32))), 4)  # log(4)
        1.3863
    """

    def __init__(self, use_sigmoid=False, use_soft=False, reduction='mean', loss_weight=1.0,
                 class_weight=None, label_smoothing=0.0, pos_weight=None):
        super().__init__()
        if use_sigmoid or pos_weight is not None:
            raise ValueError('CrossEntropyLoss(use_sigmoid/pos_weight) is not '
                             'supported by mmcls_ms (single-label only)')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"CrossEntropyLoss reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'CrossEntropyLoss label_smoothing must be in [0, 1), '
                             f'got {label_smoothing}')
        self.use_soft = bool(use_soft)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self.label_smoothing = float(label_smoothing)
        self.class_weight = (None if class_weight is None
                             else ms.Tensor(np.asarray(class_weight, np.float32)))

    def construct(self, cls_score, label, avg_factor=None):
        num_classes = cls_score.shape[-1]
        soft = label.ndim == 2  # a constant of the compiled graph
        if soft:
            one_hot = label.astype(ms.float32)
        else:
            one_hot = ops.one_hot(label.astype(ms.int32), num_classes,
                                  ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32))
        target = one_hot
        if self.label_smoothing > 0:
            target = one_hot * (1.0 - self.label_smoothing) + self.label_smoothing / num_classes
        if soft and self.class_weight is not None:  # mmpretrain: weight inside the sum
            loss = soft_cross_entropy(cls_score, target * self.class_weight)
        else:
            loss = soft_cross_entropy(cls_score, target)
        if not soft and self.class_weight is not None:
            loss = loss * (one_hot * self.class_weight).sum(axis=-1)
        if self.reduction == 'mean':  # one loss per sample: avg_factor is the batch size
            loss = loss.mean() if avg_factor is None else loss.sum() / avg_factor
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
