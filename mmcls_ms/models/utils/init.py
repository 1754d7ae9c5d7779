"""Weight initialisers: mmpretrain's defaults, drawn fast.

MindSpore's own ``Normal`` / ``TruncatedNormal`` draw about 15 M numbers per
second here, so a VGG (124 M classifier weights) took 7 s to build.  These
draw with numpy's ``Generator`` (about 4x faster), seeded from numpy's global
state exactly as MindSpore's initialisers are, so ``mindspore.set_seed(s)``
(which seeds numpy) still makes a model deterministic.

The layers get these at construction (``weight_init=``), so a freshly built
model is already well-conditioned.

Example:
    >>> from mindspore import nn
    >>> conv = nn.Conv2d(3, 8, 3, weight_init=trunc_normal(0.1))
"""
import math

import numpy as np
from mindspore.common.initializer import Initializer


class FastNormal(Initializer):
    """Normal(mean, sigma), optionally truncated to ``[a, b]`` (absolute
    bounds, as mmengine's ``TruncNormalInit``) by redrawing what falls out."""

    def __init__(self, sigma, mean=0.0, a=None, b=None):
        super().__init__(sigma=sigma, mean=mean, a=a, b=b)
        if sigma < 0:
            raise ValueError(f'sigma must be >= 0, got {sigma}')
        self.sigma, self.mean, self.a, self.b = sigma, mean, a, b

    def _draw(self, rng, size):
        return rng.standard_normal(size, dtype=np.float32) * np.float32(self.sigma) + \
            np.float32(self.mean)

    def _initialize(self, arr):
        # the same seed source as MindSpore's initialisers: numpy's global state
        rng = np.random.default_rng(int(np.random.randint(1, 1 << 62, dtype=np.int64)))
        values = self._draw(rng, arr.shape)
        if self.a is not None:
            outside = (values < self.a) | (values > self.b)
            while outside.any():
                values[outside] = self._draw(rng, int(outside.sum()))
                outside = (values < self.a) | (values > self.b)
        arr[...] = values.astype(arr.dtype, copy=False)


def trunc_normal(std: float):
    """Truncated normal in ``[-2, 2]`` (mmengine's ``TruncNormalInit`` bounds)."""
    return FastNormal(std, 0.0, -2.0, 2.0)


def normal(std: float):
    """Plain normal with mean 0."""
    return FastNormal(std)


def kaiming_normal_fan_out(out_channels: int, kernel_size: int):
    """mmengine's ``KaimingInit`` default (normal, fan_out, ReLU gain) for a
    conv with ``out_channels`` and a square ``kernel_size``."""
    fan_out = out_channels * kernel_size * kernel_size
    return FastNormal(math.sqrt(2.0 / fan_out))
