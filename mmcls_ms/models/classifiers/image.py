"""``ImageClassifier``: data preprocessor -> backbone -> (neck) -> head.

Every public entry point takes the raw batch (uint8 or float NCHW) and runs
the data preprocessor first, so one compiled graph covers the whole model:

* ``construct(inputs)`` -> logits ``(N, num_classes)``;
* ``loss(inputs, labels)`` -> scalar loss (``labels`` int32 ``(N,)``);
* ``predict(inputs)`` -> ``(pred_scores (N, C) float32, pred_labels (N,) int32)``;
* ``extract_feat(inputs, stage)`` -> features after 'backbone', 'neck' or
  'pre_logits'.

All four run in PyNative mode and compile with ``mindspore.jit``.
"""
from mindspore import nn

from mmcls_ms.registry import MODELS
from ..utils.weight_init import init_cfg_of
from ..builder import build_model_part

FEATURE_STAGES = ('backbone', 'neck', 'pre_logits')


@MODELS.register_module()
class ImageClassifier(nn.Cell):
    """Image classifier.

    Args:
        backbone: backbone config.
        neck: neck config or None.
        head: head config or None (then ``construct`` returns the features).
        pretrained: mmpretrain's deprecated alias of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
        train_cfg: mmpretrain's batch augments, ``dict(augments=[...],
            probs=...)``; handed to the data preprocessor as its
            ``batch_augments`` (an explicit one there wins).
        data_preprocessor: ``ClsDataPreprocessor`` config; ``type`` may be
            omitted.  Default: cast to float32 only.
        init_cfg: mmengine's init_cfg (e.g. ``dict(type='Pretrained',
            checkpoint=...)``), applied when training starts, after the parts'
            own (:mod:`mmcls_ms.models.utils.weight_init`).

    Example:
        >>> import numpy as np, mindspore as ms
        >>> model = ImageClassifier(
        ...     backbone=dict(type='VGG', depth=11, num_classes=-1),
        ...     neck=dict(type='GlobalAveragePooling'),
        ...     head=dict(type='LinearClsHead', num_classes=10, in_channels=512))
        >>> x = ms.Tensor(np.zeros((1, 3, 32, 32), np.uint8))
        >>> model(x).shape
        (1, 10)
    """

    def __init__(self, backbone, neck=None, head=None, pretrained=None, train_cfg=None,
                 data_preprocessor=None, init_cfg=None):
        super().__init__()
        if pretrained is not None:  # as mmpretrain: the deprecated spelling of a Pretrained init
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        # applied by init_weights() when training starts
        self.init_cfg = init_cfg_of(init_cfg, type(self).__name__)
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor)
            data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
            if train_cfg:
                data_preprocessor.setdefault('batch_augments', dict(train_cfg))
        elif train_cfg:
            raise ValueError('ImageClassifier train_cfg (batch augments) needs the data '
                             'preprocessor as a config dict, not a built Cell.')
        self.data_preprocessor = build_model_part(data_preprocessor,
                                                  'ImageClassifier data_preprocessor')
        self.backbone = build_model_part(backbone, 'ImageClassifier backbone')
        self.neck = build_model_part(neck, 'ImageClassifier neck')
        self.head = build_model_part(head, 'ImageClassifier head')
        self.with_neck = self.neck is not None
        self.with_head = self.head is not None
        pre = self.data_preprocessor
        if getattr(pre, 'batch_augments', None) and pre.num_classes is None:
            # mmpretrain's base configs set it; here the model's output width also does
            width = getattr(self.head, 'num_classes', None)
            if not isinstance(width, int) or width < 1:
                width = getattr(self.backbone, 'num_classes', None)
            if isinstance(width, int) and width > 0:
                pre.num_classes = width

    def extract_feat(self, inputs, stage='neck'):
        """Features after ``stage``: 'backbone', 'neck' (the default; the
        backbone's when there is no neck) or 'pre_logits' (what the head's
        last layer sees)."""
        if stage not in FEATURE_STAGES:
            raise ValueError(f"extract_feat stage must be one of {FEATURE_STAGES}, got {stage!r}")
        x = self.backbone(self.data_preprocessor(inputs))
        if stage == 'backbone':
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        if not self.with_head:
            raise ValueError("extract_feat(stage='pre_logits') needs a head")
        return self.head.pre_logits(x)

    def construct(self, inputs):
        feats = self.extract_feat(inputs)
        if self.with_head:
            return self.head(feats)
        return feats

    def loss(self, inputs, labels):
        """Scalar training loss for a batch."""
        if not self.with_head:
            raise ValueError('ImageClassifier.loss needs a head')
        return self.head.loss(self.extract_feat(inputs), labels)

    def predict(self, inputs):
        """``(pred_scores, pred_labels)``: softmax scores and arg-max labels."""
        if not self.with_head:
            raise ValueError('ImageClassifier.predict needs a head')
        return self.head.predict(self.extract_feat(inputs))
