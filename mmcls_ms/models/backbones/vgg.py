"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", arXiv 1409.1556), mmpretrain's layout.

Convolutions per stage (all 3x3, padding 1, then 2x2 max pool):

=====  =======  =======  =======  =======  =======
depth  64       128      256      512      512
=====  =======  =======  =======  =======  =======
11     1        1        2        2        2
13     2        2        2        2        2
16     2        2        3        3        3
19     2        2        4        4        4
=====  =======  =======  =======  =======  =======

Each conv is a ``ConvModule``: conv (with bias, even with BN) -> BN
(optional, eps 1e-5) -> ReLU.  All convs and pools sit in one flat
``features`` list, so ``features.14.conv.bias`` is the 15th layer.  With
``num_classes > 0`` a 3-layer ``classifier`` follows (25088 -> 4096 -> 4096 ->
num_classes, ReLU and dropout between).  That classifier expects a 7x7 map,
i.e. 224x224 inputs (mmpretrain issue #867); ``adaptive_pool=True`` adds
torchvision's adaptive 7x7 average pool so any input size >= 32 works.

Example:
    >>> import numpy as np, mindspore as ms
    >>> net = VGG(depth=11, num_classes=-1, out_indices=(4,))
    >>> net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32)))[-1].shape
    (1, 512, 1, 1)
"""
from mindspore import nn

from mmcls_ms.registry import MODELS
# the table above, kept with the converters (which must not import MindSpore)
from mmcls_ms.weights.converters import VGG_CONVS_PER_STAGE as ARCH_SETTINGS
from ..utils.dropout import SeededDropout
from ..utils.init import kaiming_normal_fan_out, normal
from ..utils.norm import build_norm_layer
from ..utils.weight_init import init_cfg_of

STAGE_CHANNELS = (64, 128, 256, 512, 512)


class ConvModule(nn.Cell):
    """conv -> (BN) -> ReLU, with mmcv's child names ``conv``, ``bn``, ``activate``."""

    def __init__(self, in_channels, out_channels, dilation=1, norm_cfg=None):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, 3, stride=1, pad_mode='pad', padding=dilation,
            dilation=dilation, has_bias=True, weight_init=kaiming_normal_fan_out(out_channels, 3),
            bias_init='zeros')
        self.with_norm = norm_cfg is not None
        if self.with_norm:
            self.bn = build_norm_layer(norm_cfg, out_channels, default_eps=1e-5)
        self.activate = nn.ReLU()

    def construct(self, x):
        x = self.conv(x)
        if self.with_norm:
            x = self.bn(x)
        return self.activate(x)


@MODELS.register_module()
class VGG(nn.Cell):
    """VGG backbone.

    Args:
        depth: 11, 13, 16 or 19.
        num_classes: classes of the built-in classifier; ``<= 0`` builds none.
        num_stages: how many of the 5 stages to build.
        dilations: dilation of each stage's convs.
        out_indices: which outputs to return: stage ``i`` (0-4) gives the map
            after its max pool, index ``5`` the classifier logits.  Default
            ``(5,)`` with a classifier, else ``(num_stages - 1,)``.
        frozen_stages: stages ``0..frozen_stages-1`` get ``requires_grad=False``
            and their BNs always use the moving statistics; -1 freezes none.
        norm_cfg: e.g. ``dict(type='BN')`` (momentum in the PyTorch convention);
            None for plain VGG.
        norm_eval: every BN uses (and never updates) the moving statistics,
            also in training mode.
        ceil_mode: ceil mode of the max pools.
        with_last_pool: keep the max pool of the last stage.
        adaptive_pool: average-pool to 7x7 before the classifier (torchvision),
            so inputs other than 224x224 work with a classifier.
        dropout: dropout probability inside the classifier.
        init_cfg: mmengine's init_cfg, applied when training starts
            (:mod:`mmcls_ms.models.utils.weight_init`); without it the weights
            keep the initialisation of construction (Kaiming fan_out for convs,
            Normal 0.01 for linears, zero biases, BN gamma 1), mmpretrain's default.
    """

    def __init__(self, depth, num_classes=-1, num_stages=5, dilations=(1, 1, 1, 1, 1),
                 out_indices=None, frozen_stages=-1, conv_cfg=None, norm_cfg=None,
                 act_cfg=None, norm_eval=False, ceil_mode=False, with_last_pool=True,
                 adaptive_pool=False, dropout=0.5, in_channels=3, init_cfg=None):
        super().__init__()
        # applied by init_weights() when training starts
        self.init_cfg = init_cfg_of(init_cfg, type(self).__name__)
        if depth not in ARCH_SETTINGS:
            raise KeyError(f'VGG depth must be one of {sorted(ARCH_SETTINGS)}, got {depth!r}')
        if not 1 <= num_stages <= 5:
            raise ValueError(f'VGG num_stages must be in 1..5, got {num_stages}')
        if len(dilations) < num_stages:
            raise ValueError(f'VGG dilations needs {num_stages} values, got {dilations}')
        if conv_cfg not in (None, dict(type='Conv2d'), dict(type='Conv')):
            raise ValueError(f'VGG conv_cfg={conv_cfg} is not supported; use None')
        if act_cfg not in (None, dict(type='ReLU')):
            raise ValueError(f'VGG act_cfg={act_cfg} is not supported; use ReLU')
        self.num_classes = num_classes
        self.with_classifier = num_classes > 0
        if out_indices is None:
            out_indices = (5,) if self.with_classifier else (num_stages - 1,)
        out_indices = tuple(out_indices)
        for index in out_indices:
            if index == 5 and not self.with_classifier:
                raise ValueError('VGG out_indices contains 5 (the logits) but num_classes <= 0 '
                                 'builds no classifier')
            if index != 5 and not 0 <= index < num_stages:
                raise ValueError(f'VGG out_indices {out_indices}: each must be a stage in '
                                 f'0..{num_stages - 1}, or 5 for the logits')
        if self.with_classifier and num_stages != 5:
            raise ValueError('VGG with a classifier needs all 5 stages (num_stages=5)')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        layers = []
        stage_ends = []  # index in `features` one past each stage's last layer
        channels = in_channels
        for stage, num_blocks in enumerate(ARCH_SETTINGS[depth][:num_stages]):
            out_channels = STAGE_CHANNELS[stage]
            for _ in range(num_blocks):
                layers.append(ConvModule(channels, out_channels, dilations[stage], norm_cfg))
                channels = out_channels
            if stage < num_stages - 1 or with_last_pool:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil_mode))
            stage_ends.append(len(layers))
        self.features = nn.SequentialCell(layers)
        self.stage_bounds = tuple(zip([0] + stage_ends[:-1], stage_ends))

        if self.with_classifier:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7)) if adaptive_pool else None
            self.flatten = nn.Flatten()
            self.classifier = nn.SequentialCell([
                nn.Dense(512 * 7 * 7, 4096, weight_init=normal(0.01), bias_init='zeros'),
                nn.ReLU(),
                SeededDropout(p=dropout) if dropout > 0 else nn.Identity(),
                nn.Dense(4096, 4096, weight_init=normal(0.01), bias_init='zeros'),
                nn.ReLU(),
                SeededDropout(p=dropout) if dropout > 0 else nn.Identity(),
                nn.Dense(4096, num_classes, weight_init=normal(0.01), bias_init='zeros'),
            ])
        self._freeze_stages()
        if norm_eval:
            for _, cell in self.cells_and_names():
                if isinstance(cell, nn.BatchNorm2d):
                    cell.use_batch_statistics = False  # BN "eval mode" for good

    def _freeze_stages(self):
        """No gradients for stages < frozen_stages; their BNs keep eval statistics."""
        for stage in range(max(self.frozen_stages, 0)):
            start, end = self.stage_bounds[stage]
            for index in range(start, end):
                layer = self.features[index]
                for param in layer.get_parameters():
                    param.requires_grad = False
                for _, cell in layer.cells_and_names():
                    if isinstance(cell, nn.BatchNorm2d):
                        cell.use_batch_statistics = False

    def construct(self, x):
        outs = ()
        for stage, (start, end) in enumerate(self.stage_bounds):
            for index in range(start, end):
                x = self.features[index](x)
            if stage in self.out_indices:
                outs = outs + (x,)
        if self.with_classifier:
            if self.avgpool is not None:
                x = self.avgpool(x)
            elif x.shape[2] != 7 or x.shape[3] != 7:
                raise ValueError('VGG classifier needs a 7x7 map, i.e. 224x224 inputs; for '
                                 'other sizes build VGG(adaptive_pool=True), or num_classes=-1 '
                                 'with a GlobalAveragePooling neck and a LinearClsHead')
            x = self.classifier(self.flatten(x))
            outs = outs + (x,)
        return outs
