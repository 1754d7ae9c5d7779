"""``GlobalAveragePooling``: (N, C, H, W) -> (N, C), per backbone output."""
from mindspore import nn, ops

from mmcls_ms.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(nn.Cell):
    """Average each feature map over its spatial dims.

    Takes a tensor or a tuple of tensors (the backbone's outputs) and returns
    the same structure with every map pooled to ``(N, C)``.

    Args:
        dim: 2 for NCHW maps (the only layout used here).

    Example:
        >>> import numpy as np, mindspore as ms
        >>> gap = GlobalAveragePooling()
        >>> gap((ms.Tensor(np.ones((2, 8, 3, 3), np.float32)),))[0].shape
        (2, 8)
    """

    def __init__(self, dim=2):
        super().__init__()
        if dim != 2:
            raise ValueError(f'GlobalAveragePooling dim must be 2 (NCHW maps), got {dim}')

    def construct(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(ops.mean(x, axis=(2, 3)) for x in inputs)
        return ops.mean(inputs, axis=(2, 3))
