"""Fold eval-mode BatchNorm into the preceding convolution (inference only).

In eval mode ``BN(conv(x)) = conv'(x)`` with

    w' = w * gamma / sqrt(var + eps)          (per output channel)
    b' = beta + (b - mean) * gamma / sqrt(var + eps)

so the BN kernel - a full read and write of every activation - disappears,
leaving conv + bias -> ReLU.  Values change only by float rounding (~1e-6
relative).  The model is changed in place and must not be trained afterwards.

Example:
    >>> model = get_model('configs/inception_v3/inception-v3_8xb32_in1k.py')  # doctest: +SKIP
    >>> fuse_conv_bn(model)                                                  # doctest: +SKIP
    94
"""
import numpy as np
import mindspore as ms
from mindspore import Parameter, nn, ops

from mmcls_ms.ops.backend import split_fused_norms
from mmcls_ms.utils.cells import forget_compiled_graphs, stock_type


def _fold(conv, bn):
    gamma = bn.gamma.asnumpy().astype(np.float64)
    beta = bn.beta.asnumpy().astype(np.float64)
    mean = bn.moving_mean.asnumpy().astype(np.float64)
    var = bn.moving_variance.asnumpy().astype(np.float64)
    scale = gamma / np.sqrt(var + bn.eps)
    weight = conv.weight.asnumpy().astype(np.float64)
    bias = conv.bias.asnumpy().astype(np.float64) if conv.has_bias else np.zeros_like(mean)
    new_weight = (weight * scale.reshape(-1, 1, 1, 1)).astype(np.float32)
    new_bias = (beta + (bias - mean) * scale).astype(np.float32)
    return new_weight, new_bias


def fuse_conv_bn(model) -> int:
    """Fold every ``bn`` that directly follows a ``conv`` sibling (mmcls_ms's
    ``BasicConv2d`` / ``ConvModule`` layout) into it; returns how many.  A
    fused BN + ReLU (the oneDNN backend's) is first split back into its BN and
    ReLU, so the ReLU survives the fold.

    Raises:
        RuntimeError: if the model is in training mode (BN would then use the
            batch statistics, which cannot be folded).
    """
    if model.training:
        raise RuntimeError('fuse_conv_bn is for inference: call model.set_train(False) first')
    split_fused_norms(model)
    fused = 0
    for _, cell in list(model.cells_and_names()):
        conv = getattr(cell, 'conv', None)
        bn = getattr(cell, 'bn', None)
        if conv is None or not issubclass(stock_type(conv), nn.Conv2d) or \
                not isinstance(bn, nn.BatchNorm2d):
            continue
        weight, bias = _fold(conv, bn)
        ops.assign(conv.weight, ms.Tensor(weight))
        if conv.has_bias:
            ops.assign(conv.bias, ms.Tensor(bias))
        else:
            conv.bias = Parameter(ms.Tensor(bias), name=conv.weight.name[:-len('weight')] + 'bias')
            conv.has_bias = True
            conv.bias_add = ops.BiasAdd()
        cell.bn = nn.Identity()
        fused += 1
    if fused:
        forget_compiled_graphs(model)  # else a graph-mode model keeps its unfolded graph
    return fused
