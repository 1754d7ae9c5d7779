"""``ClsDataPreprocessor``: uint8 NCHW batch -> normalised float32, inside the network.

Running it inside the compiled graph keeps the data pipeline in uint8 (4x less
memory traffic) and lets the exported model take raw images.

Example:
    >>> import numpy as np, mindspore as ms
    >>> pre = ClsDataPreprocessor(mean=[123.675, 116.28, 103.53],
    ...                           std=[58.395, 57.12, 57.375], to_rgb=True)
    >>> x = ms.Tensor(np.zeros((1, 3, 4, 4), np.uint8))
    >>> pre(x).shape
    (1, 3, 4, 4)
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(nn.Cell):
    """Cast to float32, optionally flip BGR->RGB, then ``(x - mean) / std``.

    Args:
        mean: per-channel mean in input units (0-255 for uint8), or None.
        std: per-channel std, or None.  Without mean/std it only casts.
        to_rgb: reverse the channel order (images load as BGR).
        num_classes: accepted for mmpretrain config compatibility (its batch
            augments use it); unused here.
    """

    def __init__(self, mean=None, std=None, to_rgb=False, num_classes=None, **unused):
        super().__init__()
        allowed_unused = {'batch_augments', 'pad_value', 'to_onehot'}
        if set(unused) - allowed_unused:
            raise TypeError(f'ClsDataPreprocessor got unknown arguments {sorted(unused)}; '
                            'it takes mean, std, to_rgb, num_classes')
        if unused.get('batch_augments'):
            raise ValueError('ClsDataPreprocessor(batch_augments=...) (Mixup/CutMix) '
                             'is not supported by mmcls_ms yet; remove it from the config')
        if (mean is None) != (std is None):
            raise ValueError('ClsDataPreprocessor needs both mean and std, or neither; '
                             f'got mean={mean}, std={std}')
        self.to_rgb = bool(to_rgb)
        self.num_classes = num_classes
        self.normalize = mean is not None
        if self.normalize:
            mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
            std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
            if mean.shape != std.shape:
                raise ValueError(f'ClsDataPreprocessor mean has {mean.size} values but std '
                                 f'has {std.size}')
            if np.any(std == 0):
                raise ValueError(f'ClsDataPreprocessor std must be non-zero, got {std.ravel()}')
            # constants (not Parameters): they never enter checkpoints
            self.mean = ms.Tensor(mean)
            self.std = ms.Tensor(std)
        else:
            self.mean = None
            self.std = None

    def construct(self, inputs):
        x = inputs
        if self.to_rgb:
            # a gather of the reversed channel indices, before the cast: MindSpore's CPU
            # ReverseV2 (ops.flip) is ~10x slower, 20 ms of an InceptionV3 step at batch 8
            x = ops.gather(x, ops.arange(x.shape[1] - 1, -1, -1, dtype=ms.int32), 1)
        x = x.astype(ms.float32)
        if self.normalize:
            x = (x - self.mean) / self.std
        return x
