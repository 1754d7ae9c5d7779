"""Backbones, and the one rule for parameter names.

Parameter-name mapping (for checkpoint converters)
--------------------------------------------------
mmcls_ms names are mmpretrain's state-dict keys, with MindSpore's BN names:

1. mmpretrain key == mmcls_ms name, except for BatchNorm, where
   ``weight -> gamma``, ``bias -> beta``, ``running_mean -> moving_mean``,
   ``running_var -> moving_variance``; ``num_batches_tracked`` is dropped.
   Examples: ``backbone.Conv2d_1a_3x3.conv.weight``,
   ``backbone.Mixed_7c.branch3x3dbl_3b.bn.gamma``,
   ``backbone.features.14.conv.bias``, ``backbone.classifier.6.weight``,
   ``head.fc.weight``.  Shapes and layouts are identical (conv OIHW, dense
   ``(out, in)``).
2. torchvision ``Inception3``: ``'backbone.' + key`` (then rule 1).
3. torchvision VGG: ``classifier.*`` -> ``backbone.classifier.*``;
   ``features.i`` -> ``backbone.features.j.conv`` (and, for BN models, ``i+1``
   -> ``features.j.bn``), where ``j`` counts conv and max-pool layers only
   (torchvision also numbers its ReLUs; see
   ``mmcls_ms.weights.converters.vgg_feature_indices``).
4. MindCV: its own names (``conv1a`` -> ``Conv2d_1a_3x3``,
   ``inception5b.branch1.1`` -> ``Mixed_5b.branch5x5_2``, ``aux`` ->
   ``AuxLogits``, ``classifier`` -> ``fc`` ...); BN names are already
   MindSpore's.  Its VGG convs have no bias (use zeros) and its InceptionV3
   needs ``pool_count_include_pad=False``.

``mmcls_ms/weights/converters.py`` implements these rules for every model.

Every BN in mmcls_ms is built by ``mmcls_ms/models/utils/norm.py``, which
converts the PyTorch-convention momentum in ``norm_cfg``.
"""
from .inception_v3 import InceptionV3
from .vgg import VGG

__all__ = ['InceptionV3', 'VGG']
