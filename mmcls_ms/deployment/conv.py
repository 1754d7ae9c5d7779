"""A convolution with uneven padding, written as ``Pad`` + unpadded conv.

MindSpore 2.10's ONNX exporter copies a ``Conv2D``'s ``pad_list``, which is
(top, bottom, left, right), straight into ONNX ``pads``, which means
(top, left, bottom, right).  Square padding survives that; InceptionV3's
1x7 / 7x1 / 1x3 / 3x1 convolutions (padding (0, 0, 3, 3) etc.) do not:
onnxruntime then refuses the graph ("Concat ... Can't merge shape info").
Padding with the ``Pad`` primitive first and convolving without padding
gives the same values and exports correctly.

Example:
    >>> import numpy as np, mindspore as ms
    >>> from mindspore import nn
    >>> conv = nn.Conv2d(4, 8, (1, 7), pad_mode='pad', padding=(0, 0, 3, 3))
    >>> x = ms.Tensor(np.random.rand(1, 4, 9, 9).astype(np.float32))
    >>> same = PadThenConv2d(conv)
    >>> bool(np.allclose(conv(x).asnumpy(), same(x).asnumpy(), atol=1e-5))
    True
"""
from mindspore import nn, ops


def conv_padding(conv):
    """(top, bottom, left, right) of an ``nn.Conv2d`` in 'pad' mode."""
    pad = conv.padding
    return (pad,) * 4 if isinstance(pad, int) else tuple(pad)


def has_uneven_padding(cell) -> bool:
    """True for an ``nn.Conv2d`` whose ONNX export would get wrong pads."""
    if not isinstance(cell, nn.Conv2d) or cell.pad_mode != 'pad':
        return False
    top, bottom, left, right = conv_padding(cell)
    return (top, bottom) != (left, right)


class PadThenConv2d(nn.Cell):
    """``Pad`` then the same convolution unpadded.

    The conv cell itself is kept (its primitive switched to 'valid'), so its
    parameters keep their names and values.
    """

    def __init__(self, conv):
        super().__init__(auto_prefix=False)
        top, bottom, left, right = conv_padding(conv)
        self.pad = ops.Pad(((0, 0), (0, 0), (top, bottom), (left, right)))
        conv.conv2d = ops.Conv2D(conv.out_channels, conv.kernel_size, pad_mode='valid',
                                 stride=conv.stride, dilation=conv.dilation, group=conv.group)
        conv.pad_mode, conv.padding = 'valid', 0
        self.conv = conv

    def construct(self, x):
        return self.conv(self.pad(x))
