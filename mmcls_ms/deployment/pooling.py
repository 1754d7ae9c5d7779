"""Export-friendly average pools with the same numerics as MindSpore's.

MindSpore 2.10 runs a padded ``nn.AvgPool2d`` as ``AvgPool3D`` on a 5-D
view, and its ONNX exporter has no mapping for ``AvgPool3D`` ("Can not find
key AvgPool3D in convert map"); ``AdaptiveAvgPool2D`` has none either.  The
cells here compute the same values with operators every exporter knows:

- ``PaddedAvgPool2d``: zero ``Pad`` -> unpadded 2-D ``AvgPool`` (which sums
  the zeros and divides by k*k, i.e. ``count_include_pad=True``), then, for
  ``count_include_pad=False``, a constant map ``k*k / (valid cells)`` per
  output position, precomputed for the export shape.
- ``GlobalAvgPool2d``: ``ReduceMean`` over H and W, keeping dims.

Example:
    >>> import numpy as np, mindspore as ms
    >>> from mindspore import nn
    >>> pool = nn.AvgPool2d(3, 1, pad_mode='pad', padding=1, count_include_pad=False)
    >>> x = ms.Tensor(np.random.rand(1, 2, 5, 5).astype(np.float32))
    >>> same = PaddedAvgPool2d.from_cell(pool)
    >>> bool(np.allclose(pool(x).asnumpy(), same(x).asnumpy(), atol=1e-6))
    True
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def valid_count_map(height, width, kernel, stride, padding):
    """Number of non-padding input cells under each output window, (Ho, Wo)."""
    (kh, kw), (sh, sw) = kernel, stride
    pt, pb, pl, pr = padding
    out_h = (height + pt + pb - kh) // sh + 1
    out_w = (width + pl + pr - kw) // sw + 1
    rows = np.array([min(i * sh - pt + kh, height) - max(i * sh - pt, 0) for i in range(out_h)])
    cols = np.array([min(j * sw - pl + kw, width) - max(j * sw - pl, 0) for j in range(out_w)])
    return np.outer(rows, cols).astype(np.float32)


class PaddedAvgPool2d(nn.Cell):
    """``Pad`` + unpadded ``AvgPool`` (+ divisor map) = MindSpore's padded AvgPool2d.

    Args:
        kernel_size, stride: ints or (h, w).
        padding: (top, bottom, left, right).
        count_include_pad: divide by k*k (True) or by the valid cells (False).
        input_hw: (H, W) of the input, needed for ``count_include_pad=False``
            (the divisor map is a constant of the exported graph).
    """

    def __init__(self, kernel_size, stride, padding, count_include_pad=True, input_hw=None):
        super().__init__()
        self.kernel = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = tuple(int(p) for p in padding)
        self.count_include_pad = bool(count_include_pad)
        self.pool = ops.AvgPool(kernel_size=self.kernel, strides=self.stride, pad_mode='valid')
        pt, pb, pl, pr = self.padding
        # the old ``Pad`` primitive: the exporter maps it, but not ``PadV3``
        # (what nn.ZeroPad2d / ops.pad use)
        self.pad = ops.Pad(((0, 0), (0, 0), (pt, pb), (pl, pr))) if any(self.padding) else None
        self.rescale = None
        if not self.count_include_pad and any(self.padding):
            if input_hw is None:
                raise ValueError('PaddedAvgPool2d(count_include_pad=False) needs input_hw, '
                                 'the (H, W) the pool sees in the exported graph')
            counts = valid_count_map(*input_hw, self.kernel, self.stride, self.padding)
            scale = self.kernel[0] * self.kernel[1] / counts
            self.rescale = ms.Tensor(scale[None, None])

    @classmethod
    def from_cell(cls, cell, input_hw=None):
        """The equivalent of a MindSpore ``nn.AvgPool2d`` (2.10 layout)."""
        prim = cell.avg_pool
        kernel = tuple(prim.kernel_size[-2:])
        stride = tuple(prim.strides[-2:])
        pads = tuple(prim.pad_list[-4:]) if hasattr(prim, 'pad_list') else (0, 0, 0, 0)
        return cls(kernel, stride, pads, bool(prim.count_include_pad), input_hw)

    def construct(self, x):
        if self.pad is not None:
            x = self.pad(x)
        x = self.pool(x)
        if self.rescale is not None:
            x = x * self.rescale
        return x


class GlobalAvgPool2d(nn.Cell):
    """``AdaptiveAvgPool2d(1)`` as a mean over H and W (keeps the dims)."""

    def construct(self, x):
        return ops.mean(x, axis=(2, 3), keep_dims=True)
