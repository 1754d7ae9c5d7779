"""``LabelSmoothLoss``: mmpretrain's label-smoothing cross entropy.

Modes (``eps`` = ``label_smooth_val``, ``C`` classes):

* ``'original'``: ``(1 - eps) * one_hot + eps / C`` (same as
  ``CrossEntropyLoss(label_smoothing=eps)``);
* ``'classy_vision'``: ``(one_hot + eps / C) / (1 + eps)``.

Soft targets ``(N, C)`` (Mixup/CutMix) take the place of ``one_hot``, as in
mmpretrain.
"""
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.registry import MODELS
from .cross_entropy_loss import soft_cross_entropy


@MODELS.register_module()
class LabelSmoothLoss(nn.Cell):
    """Cross entropy against smoothed one-hot targets.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> loss = LabelSmoothLoss(label_smooth_val=0.1, num_classes=4)
        >>> logits = ms.Tensor(np.zeros((2, 4), np.float32))
        >>> round(float(loss(logits, ms.Tensor([0, 3], ms.int32))), 4)
        1.3863
    """

    def __init__(self, label_smooth_val, num_classes=None, mode='original', reduction='mean',
                 loss_weight=1.0, class_weight=None, pos_weight=None, use_sigmoid=None):
        super().__init__()
        if not 0.0 <= label_smooth_val < 1.0:
            raise ValueError(f'LabelSmoothLoss label_smooth_val must be in [0, 1), '
                             f'got {label_smooth_val}')
        if mode not in ('original', 'classy_vision'):
            raise ValueError(f"LabelSmoothLoss mode must be 'original' or 'classy_vision' "
                             f"('multi_label' is not supported), got {mode!r}")
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"LabelSmoothLoss reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        if class_weight is not None or pos_weight is not None or use_sigmoid:
            raise ValueError('LabelSmoothLoss(class_weight/pos_weight/use_sigmoid) is '
                             'not supported by mmcls_ms')
        self.eps = float(label_smooth_val)
        self.num_classes = num_classes
        self.mode = mode
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def construct(self, cls_score, label):
        num_classes = cls_score.shape[-1]
        if self.num_classes is not None and self.num_classes != num_classes:
            raise ValueError('LabelSmoothLoss num_classes does not match the score width')
        if label.ndim == 2:  # soft targets pass through; a constant of the graph
            one_hot = label.astype(ms.float32)
        else:
            one_hot = ops.one_hot(label.astype(ms.int32), num_classes,
                                  ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32))
        if self.mode == 'original':
            target = one_hot * (1.0 - self.eps) + self.eps / num_classes
        else:
            target = (one_hot + self.eps / num_classes) / (1.0 + self.eps)
        loss = soft_cross_entropy(cls_score, target)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
