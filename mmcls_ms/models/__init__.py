"""mmcls_ms models; importing this registers every class in ``MODELS``.

It imports MindSpore but never torch.
"""
from mmcls_ms.ops.backend import apply_backend
from mmcls_ms.registry import on_model_built
from . import backbones, classifiers, heads, losses, necks, tta, utils  # noqa: F401
from .backbones import VGG, InceptionV3
from .classifiers import ImageClassifier
from .heads import ClsHead, LinearClsHead
from .losses import CrossEntropyLoss, LabelSmoothLoss
from .necks import GlobalAveragePooling
from .tta import AverageClsScoreTTA
from .utils import ClsDataPreprocessor

# every model MODELS.build returns runs on the CPU kernels the config or the
# environment chose (mmcls_ms.ops.backend decides; it leaves other cells alone)
on_model_built(apply_backend)

__all__ = [
    'ImageClassifier', 'InceptionV3', 'VGG', 'GlobalAveragePooling', 'ClsHead',
    'LinearClsHead', 'CrossEntropyLoss', 'LabelSmoothLoss', 'ClsDataPreprocessor',
    'AverageClsScoreTTA'
]
