"""``LabelSmoothLoss``: mmpretrain's label-smoothing loss.

Modes (``eps`` = ``label_smooth_val``, ``C`` classes, ``t`` the one-hot or
soft target):

* ``'original'``: ``t * (1 - eps) + eps / C`` (same as
  ``CrossEntropyLoss(label_smoothing=eps)``);
* ``'classy_vision'``: the same with ``eps / (1 + eps)`` in place of ``eps``,
  i.e. ``(t + eps / C) / (1 + eps)``;
* ``'multi_label'``: ``1 - eps`` where ``t > 0``, else ``eps``.

The smoothed target enters a softmax cross entropy, or with ``use_sigmoid``
(the default of ``'multi_label'``) a sigmoid binary cross entropy per class.
Soft targets ``(N, C)`` (Mixup/CutMix) take the place of the one-hot, as in
mmpretrain.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.registry import MODELS
from .cross_entropy_loss import soft_cross_entropy

MODES = ('original', 'classy_vision', 'multi_label')


def sigmoid_cross_entropy(logits, targets, class_weight=None, pos_weight=None):
    """Per-element ``-w * (p * t * log(sigmoid(z)) + (1 - t) * log(1 - sigmoid(z)))``,
    torch's ``binary_cross_entropy_with_logits`` (``w`` the class weight, ``p``
    the positive weight)."""
    logits = logits.astype(ms.float32)
    log_p = -ops.softplus(-logits)   # log(sigmoid(z)), stable
    log_not_p = -ops.softplus(logits)  # log(1 - sigmoid(z))
    positive = targets * log_p
    if pos_weight is not None:
        positive = positive * pos_weight
    loss = -(positive + (1.0 - targets) * log_not_p)
    if class_weight is not None:
        loss = loss * class_weight
    return loss


def _weights(values, name):
    if values is None:
        return None
    values = np.asarray(values, np.float32)
    if values.ndim != 1:
        raise ValueError(f'LabelSmoothLoss {name} must be a list of one weight per class, '
                         f'got shape {values.shape}')
    return ms.Tensor(values)


@MODELS.register_module()
class LabelSmoothLoss(nn.Cell):
    """Cross entropy against smoothed targets, with mmpretrain's arguments.

    Args:
        label_smooth_val: ``eps`` in [0, 1).
        num_classes: the score width; None takes it from the scores.
        use_sigmoid: sigmoid binary cross entropy instead of softmax cross
            entropy; None is True for ``mode='multi_label'``, else False.
        mode: 'original', 'classy_vision' or 'multi_label' (see above).
        reduction: 'mean', 'sum' or 'none'.
        loss_weight: multiplies the loss.
        class_weight: per-class weights (inside the sum over classes).
        pos_weight: per-class weights of the positive term; sigmoid only.

    With ``avg_factor`` (the heads pass the batch size, as mmpretrain's do),
    'mean' is the sum divided by it: for the sigmoid loss the per-class terms
    are summed per sample and averaged over the samples.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> loss = LabelSmoothLoss(label_smooth_val=0.1, num_classes=4)
        >>> logits = ms.Tensor(np.zeros((2, 4), np.float32))
        >>> round(float(loss(logits, ms.Tensor([0, 3], ms.int32))), 4)
        1.3863
    """

    def __init__(self, label_smooth_val, num_classes=None, use_sigmoid=None, mode='original',
                 reduction='mean', loss_weight=1.0, class_weight=None, pos_weight=None):
        super().__init__()
        if isinstance(label_smooth_val, bool) or not 0.0 <= label_smooth_val < 1.0:
            raise ValueError(f'LabelSmoothLoss label_smooth_val must be in [0, 1), '
                             f'got {label_smooth_val}')
        if mode not in MODES:
            raise ValueError(f'LabelSmoothLoss mode must be one of {MODES}, got {mode!r}')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"LabelSmoothLoss reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        if use_sigmoid is None:
            use_sigmoid = mode == 'multi_label'
        if pos_weight is not None and not use_sigmoid:
            raise ValueError('LabelSmoothLoss pos_weight weighs the positive term of the '
                             'sigmoid loss; set use_sigmoid=True or remove it')
        self.label_smooth_val = float(label_smooth_val)
        # mmpretrain's classy_vision is the original formula with eps / (1 + eps)
        self.eps = (self.label_smooth_val / (1 + self.label_smooth_val)
                    if mode == 'classy_vision' else self.label_smooth_val)
        self.num_classes = num_classes
        self.mode = mode
        self.use_sigmoid = bool(use_sigmoid)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self.class_weight = _weights(class_weight, 'class_weight')
        self.pos_weight = _weights(pos_weight, 'pos_weight')

    def smooth_label(self, one_hot):
        """The smoothed target of a one-hot or soft ``(N, C)`` target."""
        if self.mode == 'multi_label':
            return ops.where(one_hot > 0, ops.full_like(one_hot, 1.0 - self.eps),
                             ops.full_like(one_hot, self.eps))
        return one_hot * (1.0 - self.eps) + self.eps / one_hot.shape[-1]

    def construct(self, cls_score, label, avg_factor=None):
        num_classes = cls_score.shape[-1]
        if self.num_classes is not None and self.num_classes != num_classes:
            raise ValueError('LabelSmoothLoss num_classes does not match the score width')
        if label.ndim == 2:  # soft targets pass through; a constant of the graph
            one_hot = label.astype(ms.float32)
        else:
            one_hot = ops.one_hot(label.astype(ms.int32), num_classes,
                                  ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32))
        target = self.smooth_label(one_hot)
        if self.use_sigmoid:
            loss = sigmoid_cross_entropy(cls_score, target, self.class_weight, self.pos_weight)
        elif self.class_weight is not None:  # mmpretrain: the weight inside the sum
            loss = soft_cross_entropy(cls_score, target * self.class_weight)
        else:
            loss = soft_cross_entropy(cls_score, target)
        if self.reduction == 'mean':
            loss = loss.mean() if avg_factor is None else loss.sum() / avg_factor
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
