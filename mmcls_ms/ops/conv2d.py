"""Convolutions through oneDNN's blocked-layout kernels, as a MindSpore custom op (CPU).

MindSpore 2.10 gives oneDNN plain NCHW tensors, so its CPU Conv2D and both
backward passes run as im2col + GEMM (``x64:gemm:jit``) under mmcls_ms's AVX2
cap, and as a naive reference kernel without it.  ``OneDNNConv2d`` calls the
oneDNN that MindSpore ships (``mindspore/lib/libdnnl.so.3``) through
``ops.Custom(func_type='aot')`` with layout "any": oneDNN picks its direct
blocked kernels (``jit:avx512_core`` on AVX-512 CPUs) and the op reorders to and
from NCHW around each call.  Forward, backward-data and backward-weights all
go through it, so it trains as well as it infers.

The models get it by default on CPU (``env_cfg.conv_backend``, see
:mod:`mmcls_ms.ops.cpu_backend`; applied by :mod:`mmcls_ms.ops.backend`).
``MMCLS_MS_ONEDNN_PROFILE=1`` prints, at exit, the time spent in the kernels
(with GFLOP/s) and in the layout reorders; ``MMCLS_MS_ONEDNN_VERBOSE=1`` the
kernel oneDNN picked for each shape.  Building the kernels:
:mod:`mmcls_ms.ops.kernel_library`.

Example:
    >>> from mmcls_ms.ops.conv2d import use_onednn_convs
    >>> n = use_onednn_convs(model)     # doctest: +SKIP
"""
import functools

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype

from mmcls_ms.utils.cells import forget_compiled_graphs, replace_cells
from .batch_norm_relu import relu_attribute
from .kernel_library import library_path


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _forward_shape(x, w, b, geometry):
    # geometry's shape: (stride_h, stride_w, pad_h + 1, pad_w + 1, dilation_h, dilation_w,
    # fused_relu + 1)
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w = geometry[:6]
    pad_h, pad_w = pad_h - 1, pad_w - 1
    out_h = (x[2] + 2 * pad_h - dil_h * (w[2] - 1) - 1) // stride_h + 1
    out_w = (x[3] + 2 * pad_w - dil_w * (w[3] - 1) - 1) // stride_w + 1
    return [x[0], w[0], out_h, out_w]


@functools.cache  # one op per process: every convolution shares it
def _conv_ops(library: str):
    """The forward Custom op with its bprop (one op for both backward passes).

    The convolution's settings travel in the shape of the ``geometry`` input:
    MindSpore infers, and caches, output shapes from input shapes alone, so two
    convolutions with equal tensors but different strides must differ there.
    """
    backward = ops.Custom(f'{library}:conv2d_backward', func_type='aot',
                          out_shape=lambda dy, x, w, g: (x, w, [w[0]]),
                          out_dtype=lambda dy, x, w, g: (dy, dy, dy))

    def bprop(x, w, b, g, out, dout):
        dx, dw, db = backward(dout, x, w, g)
        return dx, dw, db, ops.zeros_like(g)

    return ops.Custom(f'{library}:conv2d_forward', func_type='aot', out_shape=_forward_shape,
                      out_dtype=lambda x, w, b, g: x, bprop=bprop)


def _padding_hw(conv):
    """(pad_h, pad_w) of ``conv``, or None when top != bottom or left != right."""
    if conv.pad_mode == 'valid':
        return 0, 0
    padding = conv.padding
    if isinstance(padding, int):
        return padding, padding
    if len(padding) == 2:
        return tuple(padding)
    top, bottom, left, right = padding
    return (top, left) if (top, left) == (bottom, right) else None


def supports(conv) -> str:
    """'' when ``OneDNNConv2d`` can replace the ``nn.Conv2d`` ``conv``, else why not.

    Example:
        >>> supports(nn.Conv2d(3, 8, 3, pad_mode='same'))
        "pad_mode 'same'"
    """
    if conv.group != 1:
        return f'groups={conv.group}'
    if conv.data_format != 'NCHW':
        return f'data_format {conv.data_format}'
    if conv.pad_mode not in ('pad', 'valid'):
        return f"pad_mode '{conv.pad_mode}'"
    if _padding_hw(conv) is None:
        return f'uneven padding {conv.padding}'
    if conv.weight.dtype != mstype.float32:
        return f'dtype {conv.weight.dtype}'
    return ''


class OneDNNConv2d(nn.Cell):
    """Drop-in for an ``nn.Conv2d`` (NCHW, fp32, groups 1, even padding) that runs
    oneDNN's blocked-layout kernels; it keeps the conv's Parameters.

    Example:
        >>> fast = OneDNNConv2d(nn.Conv2d(64, 64, 3, pad_mode='pad', padding=1))  # doctest: +SKIP
    """

    def __init__(self, conv):
        super().__init__()
        reason = supports(conv)
        if reason:
            raise ValueError(f'OneDNNConv2d cannot replace this conv: {reason}')
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size = _pair(conv.kernel_size)
        stride = _pair(conv.stride)[-2:]
        dilation = _pair(conv.dilation)[-2:]
        pad_h, pad_w = _padding_hw(conv)
        self.settings = (*stride, pad_h, pad_w, *dilation)
        self.fused_relu = False
        self.geometry = self._geometry()
        self.weight = conv.weight
        self.has_bias = conv.has_bias
        if conv.has_bias:
            self.bias = conv.bias
        else:  # the kernel always adds a bias: a constant zero, not a parameter
            self.zero_bias = Tensor(np.zeros(conv.out_channels, np.float32))
        self.conv = _conv_ops(library_path())
        # the cell it stands in for (not a child: its Parameters would get a second path)
        object.__setattr__(self, 'stock_cell', conv)

    float32_only = True  # the kernels take float32 tensors only

    def stock_equivalent(self):
        """MindSpore's ``nn.Conv2d`` computing the same, holding these Parameters
        (with the bias a BN fold may have added, and the ReLU a fusion took in)."""
        conv = self.stock_cell
        if self.has_bias and not conv.has_bias:
            conv.bias, conv.has_bias, conv.bias_add = self.bias, True, ops.BiasAdd()
        return nn.SequentialCell([conv, nn.ReLU()]) if self.fused_relu else conv

    def _geometry(self):
        # the settings are the shape of this (tiny, never read) tensor; see _conv_ops
        stride_h, stride_w, pad_h, pad_w, dil_h, dil_w = self.settings
        return Tensor(np.zeros((stride_h, stride_w, pad_h + 1, pad_w + 1, dil_h, dil_w,
                                int(self.fused_relu) + 1), np.uint8))

    def fuse_relu(self):
        """Apply a ReLU inside the kernel as it writes the output (inference only:
        such a convolution has no backward)."""
        self.fused_relu = True
        self.geometry = self._geometry()

    def construct(self, x):
        bias = self.bias if self.has_bias else self.zero_bias
        return self.conv(x, self.weight, bias, self.geometry)

    def extend_repr(self):
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride, padding, dilation={self.settings}, fused_relu={self.fused_relu}, '
                'backend=onednn')


def is_onednn_conv(cell) -> bool:
    """Whether ``cell`` is an ``OneDNNConv2d``."""
    return isinstance(cell, OneDNNConv2d)


def use_onednn_convs(net, strict: bool = True) -> int:
    """Replace every ``nn.Conv2d`` in ``net`` by ``OneDNNConv2d``, in place.

    Parameters (and their names) stay the same objects, so checkpoints,
    optimizers and ``load_checkpoint`` see no difference.  With ``strict``, a
    conv the op cannot run raises ``ValueError`` naming it (at an uncapped
    oneDNN ISA a MindSpore conv left behind would run its naive kernel).

    Returns the number of convolutions replaced.

    Example:
        >>> replaced = use_onednn_convs(model)   # doctest: +SKIP
    """
    def replacement(full_name, cell):
        if type(cell) is not nn.Conv2d:
            return None
        reason = supports(cell)
        if reason and strict:
            raise ValueError(f'{full_name}: the oneDNN convolution cannot run this conv '
                             f"({reason}); set env_cfg.conv_backend='mindspore' (or 'auto') "
                             "to use MindSpore's convolutions")
        return None if reason else OneDNNConv2d(cell)
    return replace_cells(net, replacement)


def fuse_relu_into_onednn_convs(model) -> int:
    """Inference only: where a oneDNN ``conv`` is followed by its ReLU with no BN
    between (mmcls_ms's ``conv``/``bn``/``relu`` or ``activate`` layout, after
    ``fuse_conv_bn``), let the convolution kernel apply the ReLU, and drop the
    separate ReLU pass.  Returns how many.

    Example:
        >>> fuse_conv_bn(model); fuse_relu_into_onednn_convs(model)   # doctest: +SKIP
        94
    """
    if model.training:
        raise RuntimeError('fuse_relu_into_onednn_convs is for inference: call '
                           'model.set_train(False) first')
    fused = 0
    for _, cell in list(model.cells_and_names()):
        conv, bn = getattr(cell, 'conv', None), getattr(cell, 'bn', None)
        relu_name = relu_attribute(cell)
        if not is_onednn_conv(conv) or relu_name is None or conv.fused_relu or \
                not (bn is None or isinstance(bn, nn.Identity)):
            continue
        conv.fuse_relu()
        setattr(cell, relu_name, nn.Identity())
        fused += 1
    if fused:
        forget_compiled_graphs(model)
    return fused
