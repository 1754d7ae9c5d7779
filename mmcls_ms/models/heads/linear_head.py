"""``LinearClsHead``: (dropout ->) one fully connected layer on pooled features.

Use it with a backbone built without classifier (``num_classes=-1``) and a
``GlobalAveragePooling`` neck.  Its weights are ``head.fc.weight`` /
``head.fc.bias`` as in mmpretrain.
"""
from mindspore import nn

from mmcls_ms.registry import MODELS
from ..utils.dropout import SeededDropout
from ..utils.init import normal
from .cls_head import ClsHead


@MODELS.register_module()
class LinearClsHead(ClsHead):
    """Linear classifier head.

    Args:
        num_classes: number of classes.
        in_channels: feature width (2048 for InceptionV3, 512 for VGG).
        dropout: dropout probability before ``fc`` (0 disables).
        loss, topk, cal_acc, aux_loss_weight: as :class:`ClsHead`.
        init_cfg: as :class:`ClsHead`; without it ``fc`` keeps Normal(0.01), bias 0.

    Example:
        >>> import numpy as np, mindspore as ms
        >>> head = LinearClsHead(num_classes=10, in_channels=512)
        >>> head((ms.Tensor(np.ones((2, 512), np.float32)),)).shape
        (2, 10)
    """

    def __init__(self, num_classes, in_channels, dropout=0.0, loss=None, topk=(1,),
                 cal_acc=False, aux_loss_weight=0.0, init_cfg=None):
        super().__init__(loss=loss, topk=topk, cal_acc=cal_acc,
                         aux_loss_weight=aux_loss_weight, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'LinearClsHead num_classes must be > 0, got {num_classes}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'LinearClsHead dropout must be in [0, 1), got {dropout}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.dropout = SeededDropout(p=dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Dense(in_channels, num_classes, weight_init=normal(0.01), bias_init='zeros')

    def construct(self, feats):
        x = self.pre_logits(feats)
        if x.ndim != 2:
            raise ValueError('LinearClsHead expects (N, C) features; add a '
                             "neck=dict(type='GlobalAveragePooling') to pool the feature maps")
        return self.fc(self.dropout(x))
