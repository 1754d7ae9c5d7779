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
        num_classes: the width of the one-hot targets of batch augments
            (default: the head's ``num_classes``).
        batch_augments: ``dict(augments=[...], probs=None)``, mmpretrain's
            ``model.train_cfg``: Mixup / CutMix on training batches, applied
            by :meth:`augment` before the batch enters the compiled step.
    """

    def __init__(self, mean=None, std=None, to_rgb=False, num_classes=None,
                 batch_augments=None, **unused):
        super().__init__()
        allowed_unused = {'pad_value', 'to_onehot'}
        if set(unused) - allowed_unused:
            raise TypeError(f'ClsDataPreprocessor got unknown arguments {sorted(unused)}; '
                            'it takes mean, std, to_rgb, num_classes, batch_augments')
        self.batch_augments = None
        if batch_augments:
            from .batch_augments import RandomBatchAugment
            batch_augments = dict(batch_augments)
            unknown = set(batch_augments) - {'augments', 'probs'}
            if unknown or 'augments' not in batch_augments:
                raise ValueError('model.train_cfg (batch augments) takes `augments` and '
                                 f'`probs`, got keys {sorted(batch_augments)}.')
            self.batch_augments = RandomBatchAugment(**batch_augments)
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

    def augment(self, inputs: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
        """The training batch after the batch augments: float32 raw-pixel
        inputs and float32 soft targets ``(N, num_classes)``.  Without batch
        augments, ``(inputs, labels)`` unchanged.

        Example:
            >>> pre = ClsDataPreprocessor(num_classes=3, batch_augments=dict(
            ...     augments=[dict(type='Mixup', alpha=1.0)]))
            >>> x, t = pre.augment(np.zeros((2, 3, 4, 4), np.uint8), np.array([0, 2]),
            ...                    np.random.default_rng(0))
            >>> t.shape
            (2, 3)
        """
        if self.batch_augments is None:
            return inputs, labels
        if self.num_classes is None:
            raise ValueError('Batch augments need the number of classes: set '
                             'model.data_preprocessor.num_classes (or the head\'s num_classes).')
        from .batch_augments import labels_to_onehot
        return self.batch_augments(inputs, labels_to_onehot(labels, self.num_classes), rng)

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
