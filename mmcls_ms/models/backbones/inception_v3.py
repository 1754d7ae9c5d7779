"""Inception-v3 (Szegedy et al., "Rethinking the Inception Architecture for
Computer Vision", arXiv 1512.00567), torchvision's layout.

Layer by layer, for a 299x299 input (channels x size):

=================  =====================================  ============
name               block                                  output
=================  =====================================  ============
Conv2d_1a_3x3      conv 3x3 /2                            32 x 149
Conv2d_2a_3x3      conv 3x3                               32 x 147
Conv2d_2b_3x3      conv 3x3 pad 1                         64 x 147
maxpool1           max 3x3 /2                             64 x 73
Conv2d_3b_1x1      conv 1x1                               80 x 73
Conv2d_4a_3x3      conv 3x3                               192 x 71
maxpool2           max 3x3 /2                             192 x 35
Mixed_5b/5c/5d     InceptionA (pool features 32/64/64)    256/288/288 x 35
Mixed_6a           InceptionB (grid reduction)            768 x 17
Mixed_6b..6e       InceptionC (7x7 factorised, c7=128,    768 x 17
                   160, 160, 192)
AuxLogits          InceptionAux (training only)           num_classes
Mixed_7a           InceptionD (grid reduction)            1280 x 8
Mixed_7b/7c        InceptionE (expanded filter banks)     2048 x 8
avgpool, dropout,  global average, dropout, linear        num_classes
fc
=================  =====================================  ============

Every conv is a ``BasicConv2d``: conv (no bias) -> BN (eps 1e-3) -> ReLU.
Pools use ``ceil_mode=False``; branch average pools count the zero padding
(``count_include_pad=True``) like torchvision.  MindCV's port averages without
the padding (TensorFlow 'same' pooling): build with
``pool_count_include_pad=False`` to reproduce MindCV-trained weights.

Parameter names follow mmpretrain / torchvision (see
``mmcls_ms/models/backbones/__init__.py`` for the mapping rule).

Example:
    >>> import numpy as np, mindspore as ms
    >>> net = InceptionV3(num_classes=10)
    >>> _ = net.set_train(False)
    >>> out = net(ms.Tensor(np.zeros((1, 3, 299, 299), np.float32)))
    >>> out[-1].shape
    (1, 10)
"""
from mindspore import nn, ops

from mmcls_ms.registry import MODELS
from ..utils.dropout import SeededDropout
from ..utils.init import trunc_normal
from ..utils.norm import build_norm_layer
from ..utils.weight_init import init_cfg_of

INCEPTION_BN_EPS = 1e-3  # torchvision / TF Inception use 1e-3, not BN's usual 1e-5


def _ms_padding(padding):
    """PyTorch conv padding (int or (h, w)) -> MindSpore (top, bottom, left, right)."""
    if isinstance(padding, int):
        return padding
    pad_h, pad_w = padding
    return (pad_h, pad_h, pad_w, pad_w)


class BasicConv2d(nn.Cell):
    """conv (no bias) -> BN -> ReLU; names ``conv`` and ``bn`` as in torchvision."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 norm_cfg=None, init_std=0.1):
        super().__init__()
        has_padding = padding != 0 and padding != (0, 0)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride,
            pad_mode='pad' if has_padding else 'valid', padding=_ms_padding(padding),
            has_bias=False, weight_init=trunc_normal(init_std))
        self.bn = build_norm_layer(norm_cfg, out_channels, default_eps=INCEPTION_BN_EPS)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


def _branch_avg_pool(count_include_pad):
    return nn.AvgPool2d(3, 1, pad_mode='pad', padding=1, count_include_pad=count_include_pad)


class InceptionA(nn.Cell):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg-1x1."""

    def __init__(self, in_channels, pool_features, norm_cfg, pool_count_include_pad=True):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1, norm_cfg=norm_cfg)

        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1, norm_cfg=norm_cfg)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2, norm_cfg=norm_cfg)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1, norm_cfg=norm_cfg)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1, norm_cfg=norm_cfg)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1, norm_cfg=norm_cfg)

        self.branch_pool_downsample = _branch_avg_pool(pool_count_include_pad)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1, norm_cfg=norm_cfg)

    def construct(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(self.branch_pool_downsample(x))
        return ops.cat((branch1x1, branch5x5, branch3x3dbl, branch_pool), axis=1)


class InceptionB(nn.Cell):
    """Grid reduction 35 -> 17: 3x3/2 | 1x1-3x3-3x3/2 | max/2."""

    def __init__(self, in_channels, norm_cfg):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2, norm_cfg=norm_cfg)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1, norm_cfg=norm_cfg)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1, norm_cfg=norm_cfg)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2, norm_cfg=norm_cfg)

        self.branch_pool = nn.MaxPool2d(3, 2)

    def construct(self, x):
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(x)
        return ops.cat((branch3x3, branch3x3dbl, branch_pool), axis=1)


class InceptionC(nn.Cell):
    """17x17 block with 7x7 convs factorised into 1x7 and 7x1."""

    def __init__(self, in_channels, channels_7x7, norm_cfg, pool_count_include_pad=True):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1, norm_cfg=norm_cfg)

        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1, norm_cfg=norm_cfg)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3), norm_cfg=norm_cfg)
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0), norm_cfg=norm_cfg)

        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1, norm_cfg=norm_cfg)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0), norm_cfg=norm_cfg)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3), norm_cfg=norm_cfg)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0), norm_cfg=norm_cfg)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3), norm_cfg=norm_cfg)

        self.branch_pool_downsample = _branch_avg_pool(pool_count_include_pad)
        self.branch_pool = BasicConv2d(in_channels, 192, 1, norm_cfg=norm_cfg)

    def construct(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(self.branch_pool_downsample(x))
        return ops.cat((branch1x1, branch7x7, branch7x7dbl, branch_pool), axis=1)


class InceptionD(nn.Cell):
    """Grid reduction 17 -> 8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max/2."""

    def __init__(self, in_channels, norm_cfg):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1, norm_cfg=norm_cfg)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2, norm_cfg=norm_cfg)

        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1, norm_cfg=norm_cfg)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3), norm_cfg=norm_cfg)
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0), norm_cfg=norm_cfg)
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2, norm_cfg=norm_cfg)

        self.branch_pool = nn.MaxPool2d(3, 2)

    def construct(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(branch7x7x3))
        branch_pool = self.branch_pool(x)
        return ops.cat((branch3x3, branch7x7x3, branch_pool), axis=1)


class InceptionE(nn.Cell):
    """8x8 block with expanded filter banks (1x3 and 3x1 side by side)."""

    def __init__(self, in_channels, norm_cfg, pool_count_include_pad=True):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, 1, norm_cfg=norm_cfg)

        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1, norm_cfg=norm_cfg)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1), norm_cfg=norm_cfg)
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0), norm_cfg=norm_cfg)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1, norm_cfg=norm_cfg)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1, norm_cfg=norm_cfg)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1), norm_cfg=norm_cfg)
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0), norm_cfg=norm_cfg)

        self.branch_pool_downsample = _branch_avg_pool(pool_count_include_pad)
        self.branch_pool = BasicConv2d(in_channels, 192, 1, norm_cfg=norm_cfg)

    def construct(self, x):
        branch1x1 = self.branch1x1(x)

        branch3x3 = self.branch3x3_1(x)
        branch3x3 = ops.cat((self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)), axis=1)

        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = ops.cat(
            (self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)), axis=1)

        branch_pool = self.branch_pool(self.branch_pool_downsample(x))
        return ops.cat((branch1x1, branch3x3, branch3x3dbl, branch_pool), axis=1)


class InceptionAux(nn.Cell):
    """Auxiliary classifier on the 17x17 grid: avg 5x5/3 -> 1x1 -> 5x5 -> GAP -> fc."""

    def __init__(self, in_channels, num_classes, norm_cfg):
        super().__init__()
        self.downsample = nn.AvgPool2d(5, 3)
        self.conv0 = BasicConv2d(in_channels, 128, 1, norm_cfg=norm_cfg, init_std=0.01)
        self.conv1 = BasicConv2d(128, 768, 5, norm_cfg=norm_cfg, init_std=0.01)
        self.fc = nn.Dense(768, num_classes, weight_init=trunc_normal(0.001), bias_init='zeros')

    def construct(self, x):
        x = self.conv1(self.conv0(self.downsample(x)))
        x = ops.mean(x, axis=(2, 3))
        return self.fc(x)


@MODELS.register_module()
class InceptionV3(nn.Cell):
    """Inception-v3 backbone (with its classifier unless ``num_classes <= 0``).

    Args:
        num_classes: classes of the built-in ``fc``.  ``<= 0`` drops avgpool,
            dropout and fc: the backbone then returns the 2048-channel
            ``Mixed_7c`` map, for a ``GlobalAveragePooling`` neck and a
            ``LinearClsHead`` (fine-tuning, small inputs).
        aux_logits: build ``AuxLogits``.  In training mode the backbone then
            returns ``(aux_logits, logits)``; in eval mode ``(logits,)``.
        dropout: dropout probability before ``fc``.
        pool_count_include_pad: whether the 3x3 branch average pools count the
            zero padding (True: torchvision/mmpretrain; False: MindCV).
        norm_cfg: BN config, momentum in the PyTorch convention.
        in_channels: input channels.
        init_cfg: mmengine's init_cfg, applied when training starts
            (:mod:`mmcls_ms.models.utils.weight_init`); without it the weights
            keep the initialisation of construction (TruncNormal std 0.1, aux
            conv 0.01, aux fc 0.001, BN gamma 1), mmpretrain's default.

    Returns from ``construct``: a tuple of tensors, the last one being the
    logits (or the feature map without a classifier).
    """

    def __init__(self, num_classes=1000, aux_logits=False, dropout=0.5,
                 pool_count_include_pad=True, norm_cfg=None, in_channels=3, init_cfg=None):
        super().__init__()
        # applied by init_weights() when training starts
        self.init_cfg = init_cfg_of(init_cfg, type(self).__name__)
        if aux_logits and num_classes <= 0:
            raise ValueError('InceptionV3(aux_logits=True) needs num_classes > 0: the auxiliary '
                             'classifier predicts classes')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'InceptionV3 dropout must be in [0, 1), got {dropout}')
        norm_cfg = dict(type='BN', eps=INCEPTION_BN_EPS) if norm_cfg is None else norm_cfg
        self.num_classes = num_classes
        self.aux_logits = aux_logits
        self.with_classifier = num_classes > 0
        include_pad = pool_count_include_pad

        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, 32, 3, stride=2, norm_cfg=norm_cfg)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3, norm_cfg=norm_cfg)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1, norm_cfg=norm_cfg)
        self.maxpool1 = nn.MaxPool2d(3, 2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1, norm_cfg=norm_cfg)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3, norm_cfg=norm_cfg)
        self.maxpool2 = nn.MaxPool2d(3, 2)

        self.Mixed_5b = InceptionA(192, 32, norm_cfg, include_pad)
        self.Mixed_5c = InceptionA(256, 64, norm_cfg, include_pad)
        self.Mixed_5d = InceptionA(288, 64, norm_cfg, include_pad)

        self.Mixed_6a = InceptionB(288, norm_cfg)
        self.Mixed_6b = InceptionC(768, 128, norm_cfg, include_pad)
        self.Mixed_6c = InceptionC(768, 160, norm_cfg, include_pad)
        self.Mixed_6d = InceptionC(768, 160, norm_cfg, include_pad)
        self.Mixed_6e = InceptionC(768, 192, norm_cfg, include_pad)

        # declared here, between 6e and 7a, so the parameter order matches torchvision
        self.AuxLogits = InceptionAux(768, num_classes, norm_cfg) if aux_logits else None

        self.Mixed_7a = InceptionD(768, norm_cfg)
        self.Mixed_7b = InceptionE(1280, norm_cfg, include_pad)
        self.Mixed_7c = InceptionE(2048, norm_cfg, include_pad)

        if self.with_classifier:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.dropout = SeededDropout(p=dropout) if dropout > 0 else nn.Identity()
            self.fc = nn.Dense(2048, num_classes, weight_init=trunc_normal(0.1),
                               bias_init='zeros')

    def construct(self, x):
        if x.shape[2] < 75 or x.shape[3] < 75:
            raise ValueError('InceptionV3 needs inputs of at least 75x75 pixels')
        if self.aux_logits and self.training and (x.shape[2] < 299 or x.shape[3] < 299):
            raise ValueError('InceptionV3(aux_logits=True) needs inputs of at least 299x299 '
                             'in training mode (AuxLogits pools a 17x17 map); use bigger '
                             'inputs or aux_logits=False')
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool1(x)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = self.maxpool2(x)

        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6a(x)
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))

        aux = None
        if self.aux_logits and self.training:
            aux = self.AuxLogits(x)

        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        if not self.with_classifier:
            return (x,)

        x = self.flatten(self.avgpool(x))
        logits = self.fc(self.dropout(x))
        if aux is None:
            return (logits,)
        return (aux, logits)
