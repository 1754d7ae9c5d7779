"""mmcls_ms models; importing this registers every class in ``MODELS``.

It imports MindSpore but never torch.
"""
from . import backbones, classifiers, heads, losses, necks, tta, utils  # noqa: F401
from .backbones import VGG, InceptionV3
from .classifiers import ImageClassifier
from .heads import ClsHead, LinearClsHead
from .losses import CrossEntropyLoss, LabelSmoothLoss
from .necks import GlobalAveragePooling
from .tta import AverageClsScoreTTA
from .utils import ClsDataPreprocessor

__all__ = [
    'ImageClassifier', 'InceptionV3', 'VGG', 'GlobalAveragePooling', 'ClsHead',
    'LinearClsHead', 'CrossEntropyLoss', 'LabelSmoothLoss', 'ClsDataPreprocessor',
    'AverageClsScoreTTA'
]
