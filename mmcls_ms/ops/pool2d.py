"""Max and average pooling of the CPU kernel library, as a MindSpore custom op.

MindSpore 2.10 runs ``nn.MaxPool2d`` and the padded ``nn.AvgPool2d`` on CPU
with its own kernels (not oneDNN's), at about 1 GB/s: 10% of an InceptionV3
inference step and 5% of a training step; oneDNN's pooling on NCHW is not
faster.  ``OneDNNPool2d`` runs the library's own loops over NCHW planes
(``csrc/pool2d.cpp``), forward and backward, on the same tensors.  With the
oneDNN backend it replaces the model's pools together with its convolutions
(:func:`mmcls_ms.ops.backend.apply_backend`).

Example:
    >>> from mmcls_ms.ops.pool2d import use_onednn_pools
    >>> n = use_onednn_pools(model)     # doctest: +SKIP
"""
import functools

import numpy as np
from mindspore import Tensor, nn, ops

from mmcls_ms.utils.cells import replace_cells
from .kernel_library import library_path

_ALGORITHMS = {'max': 0, 'avg_include_pad': 1, 'avg_exclude_pad': 2}


def _pool_shape(x, geometry):
    # geometry's shape is (kernel_h, kernel_w, stride_h, stride_w, pad_h + 1, pad_w + 1, alg + 1)
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, _ = geometry
    out_h = (x[2] + 2 * (pad_h - 1) - kernel_h) // stride_h + 1
    out_w = (x[3] + 2 * (pad_w - 1) - kernel_w) // stride_w + 1
    return [x[0], x[1], out_h, out_w]


@functools.cache  # one op per process: every pool shares it
def _pool_op(library: str):
    """The forward Custom op, with a bprop through the backward op."""
    backward = ops.Custom(f'{library}:pool2d_backward', func_type='aot',
                          out_shape=lambda dy, x, g: x, out_dtype=lambda dy, x, g: dy)

    def bprop(x, g, out, dout):
        return backward(dout, x, g), ops.zeros_like(g)

    return ops.Custom(f'{library}:pool2d_forward', func_type='aot', out_shape=_pool_shape,
                      out_dtype=lambda x, g: x, bprop=bprop)


def _settings(pool):
    """(kernel, stride, padding, algorithm) of an ``nn.MaxPool2d``/``nn.AvgPool2d``,
    read from the primitive it built, or a str saying why oneDNN cannot stand in."""
    op = getattr(pool, 'max_pool', None) or getattr(pool, 'avg_pool', None)
    if not isinstance(pool, (nn.MaxPool2d, nn.AvgPool2d)) or op is None:
        return f'{type(pool).__name__} is not a 2-D max or average pool'
    attrs, kind = op.attrs, type(op).__name__
    padding = (0, 0)
    if kind == 'MaxPool' and attrs['pad_mode'] == 'VALID' and attrs['data_format'] == 'NCHW':
        kernel, stride, algorithm = attrs['kernel_size'][-2:], attrs['strides'][-2:], 'max'
    elif kind == 'AvgPool' and attrs['pad_mode'] == 2 and attrs['data_format'] == 0:  # VALID, NCHW
        kernel, stride, algorithm = attrs['kernel_size'][-2:], attrs['strides'][-2:], 'avg_include_pad'
    elif kind == 'MaxPool3DWithArgmax' and not attrs['ceil_mode'] and \
            tuple(attrs['dilation']) == (1, 1, 1):
        kernel, stride, padding = attrs['ksize'][-2:], attrs['strides'][-2:], attrs['pads'][-2:]
        algorithm = 'max'
    elif kind == 'AvgPool3D' and not attrs['ceil_mode'] and not attrs['divisor_override'] and \
            attrs['pad'][2] == attrs['pad'][3] and attrs['pad'][4] == attrs['pad'][5]:
        kernel, stride = attrs['kernel_size'][-2:], attrs['strides'][-2:]
        padding = (attrs['pad'][2], attrs['pad'][4])
        algorithm = 'avg_include_pad' if attrs['count_include_pad'] else 'avg_exclude_pad'
    else:
        return f'{kind} with ' + ', '.join(f'{k}={v}' for k, v in attrs.items()
                                           if k not in ('input_names', 'output_names'))
    return tuple(kernel), tuple(stride), tuple(padding), algorithm


class OneDNNPool2d(nn.Cell):
    """Drop-in for an ``nn.MaxPool2d`` / ``nn.AvgPool2d`` (NCHW, fp32, floor
    mode, even padding) that runs the kernel library's pooling, forward and
    backward.

    Example:
        >>> fast = OneDNNPool2d(nn.MaxPool2d(3, 2))   # doctest: +SKIP
    """

    def __init__(self, pool):
        super().__init__()
        settings = _settings(pool)
        if isinstance(settings, str):
            raise ValueError(f'OneDNNPool2d cannot replace this pool: {settings}')
        kernel, stride, padding, self.algorithm = settings
        self.settings = (*kernel, *stride, *padding)
        # the settings are the shape of this tiny, never-read tensor (see conv2d.py)
        self.geometry = Tensor(np.zeros((*kernel, *stride, padding[0] + 1, padding[1] + 1,
                                         _ALGORITHMS[self.algorithm] + 1), np.uint8))
        self.pool = _pool_op(library_path())
        object.__setattr__(self, 'stock_cell', pool)  # the cell it stands in for

    float32_only = True  # the kernels take float32 tensors only

    def construct(self, x):
        return self.pool(x, self.geometry)

    def extend_repr(self):
        return f'{self.algorithm}, kernel, stride, padding={self.settings}, backend=onednn'


def use_onednn_pools(net) -> int:
    """Replace, in place, every ``nn.MaxPool2d``/``nn.AvgPool2d`` of ``net`` that
    the kernel library's pooling can run; returns how many.  Others (ceil mode, 'same'
    padding, ...) stay MindSpore's: they run correctly at any oneDNN ISA.

    Example:
        >>> use_onednn_pools(model)   # doctest: +SKIP
        13
    """
    return replace_cells(net, lambda name, cell: None if isinstance(_settings(cell), str)
                         else OneDNNPool2d(cell))
