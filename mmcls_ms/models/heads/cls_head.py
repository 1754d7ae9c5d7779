"""``ClsHead``: a parameter-free head for backbones that already output logits.

It takes the backbone's (or neck's) output tuple and uses its last element as
the class scores.  With ``aux_loss_weight > 0`` and a tuple of two or more
outputs, the second-to-last element (InceptionV3's auxiliary logits in
training mode) also enters the loss: ``loss(main) + w * loss(aux)``, as
MindCV's ``aux_factor`` (0.1 there) does.
"""
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.registry import MODELS
from ..builder import build_model_part
from ..utils.weight_init import init_cfg_of


@MODELS.register_module()
class ClsHead(nn.Cell):
    """Classification head without parameters.

    Args:
        loss: loss config, default ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        topk: top-k accuracies the evaluator reports (kept for configs).
        cal_acc: accepted for mmpretrain compatibility (training accuracy is
            not computed inside the loss here).
        aux_loss_weight: weight of the auxiliary logits' loss (0 disables).
        init_cfg: mmengine's init_cfg, applied when training starts
            (:mod:`mmcls_ms.models.utils.weight_init`).

    Example:
        >>> import numpy as np, mindspore as ms
        >>> head = ClsHead(aux_loss_weight=0.1)
        >>> logits = ms.Tensor(np.zeros((2, 5), np.float32))
        >>> scores, labels = head.predict((logits,))
        >>> scores.shape, labels.dtype
        ((2, 5), mindspore.int32)
    """

    def __init__(self, loss=None, topk=(1,), cal_acc=False, aux_loss_weight=0.0, init_cfg=None):
        super().__init__()
        # applied by init_weights() when training starts
        self.init_cfg = init_cfg_of(init_cfg, type(self).__name__)
        loss = dict(type='CrossEntropyLoss', loss_weight=1.0) if loss is None else loss
        self.loss_module = build_model_part(loss, f'{type(self).__name__} loss')
        self.topk = (topk,) if isinstance(topk, int) else tuple(topk)
        self.cal_acc = cal_acc
        if aux_loss_weight < 0:
            raise ValueError(f'ClsHead aux_loss_weight must be >= 0, got {aux_loss_weight}')
        self.aux_loss_weight = float(aux_loss_weight)

    def pre_logits(self, feats):
        """The features the classifier layer sees: the last output."""
        if isinstance(feats, tuple):
            return feats[-1]
        return feats

    def construct(self, feats):
        return self.pre_logits(feats)

    def loss(self, feats, labels):
        """Scalar training loss (main plus weighted auxiliary)."""
        cls_score = self.construct(feats)
        # mmpretrain's heads pass the batch size: a 'mean' of a per-class loss
        # (sigmoid) sums over the classes and averages over the samples
        loss = self.loss_module(cls_score, labels, avg_factor=cls_score.shape[0])
        if self.aux_loss_weight > 0 and isinstance(feats, tuple) and len(feats) > 1:
            loss = loss + self.aux_loss_weight * self.loss_module(
                feats[-2], labels, avg_factor=cls_score.shape[0])
        return loss

    def predict(self, feats):
        """``(softmax scores float32 (N, C), labels int32 (N,))``."""
        cls_score = self.construct(feats).astype(ms.float32)
        pred_scores = ops.softmax(cls_score, axis=-1)
        pred_labels = ops.argmax(pred_scores, dim=-1).astype(ms.int32)
        return pred_scores, pred_labels
