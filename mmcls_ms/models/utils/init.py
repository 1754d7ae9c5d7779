"""Weight initialisers, mmpretrain's defaults expressed as MindSpore initialisers.

The layers get these at construction (``weight_init=``), so a freshly built
model is already well-conditioned and, after ``mindspore.set_seed``,
deterministic.

Example:
    >>> from mindspore import nn
    >>> conv = nn.Conv2d(3, 8, 3, weight_init=trunc_normal(0.1))
"""
from mindspore.common.initializer import HeNormal, Normal, TruncatedNormal


def trunc_normal(std: float):
    """Truncated normal in ``[-2, 2]`` (mmengine's ``TruncNormalInit`` bounds)."""
    return TruncatedNormal(sigma=std, mean=0.0, a=-2.0, b=2.0)


def kaiming_normal_fan_out():
    """mmengine's ``KaimingInit`` default: normal, fan_out, ReLU gain."""
    return HeNormal(negative_slope=0, mode='fan_out', nonlinearity='relu')


def normal(std: float):
    """Plain normal with mean 0."""
    return Normal(sigma=std, mean=0.0)
