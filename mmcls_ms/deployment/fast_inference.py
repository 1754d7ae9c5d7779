"""The inference fast path: fewer, cheaper kernels, the same logits.

Measured on the 2-core CPU here (see ``benchmarks/README.md`` for the
profiles):

- eval-mode BatchNorm is a separate, slow kernel in MindSpore 2.10 (about 16%
  of an InceptionV3 inference step); :func:`fuse_conv_bn` folds it into the
  convolutions;
- the data preprocessor's cast -> flip -> subtract -> divide costs 49 ms per
  batch of 16 at 299 px (``ReverseV2`` alone ~60%); the same arithmetic as one
  1x1 convolution (weights: the channel permutation divided by std, bias:
  -mean/std) costs 6.5 ms;
- with the oneDNN backend (the default on x86-64 Linux), each convolution
  applies its ReLU as it writes (a oneDNN post-op), which removes the ReLU pass
  (about 50 ms per InceptionV3 batch of 16).

Example:
    >>> model = get_model('configs/inception_v3/inception-v3_8xb32_in1k.py')  # doctest: +SKIP
    >>> optimize_for_inference(model)                                        # doctest: +SKIP
    ['94 BatchNorms folded into their convolutions', 'preprocessor -> cast + 1x1 conv']
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.ops.backend import fuse_activations

from .fuse import fuse_conv_bn


class AffinePreprocessor(nn.Cell):
    """Cast to float32, then channel flip and ``(x - mean) / std`` as one 1x1 conv.

    ``out[c] = in[p(c)] / std[c] - mean[c] / std[c]``, with ``p`` the flip
    (BGR -> RGB) or the identity.
    """

    def __init__(self, mean, std, to_rgb):
        super().__init__()
        mean = np.asarray(mean, np.float32).ravel()
        std = np.asarray(std, np.float32).ravel()
        channels = mean.size
        weight = np.zeros((channels, channels, 1, 1), np.float32)
        for out_c in range(channels):
            in_c = channels - 1 - out_c if to_rgb else out_c
            weight[out_c, in_c] = 1.0 / std[out_c]
        self.weight = ms.Tensor(weight)  # constants: never in a checkpoint
        self.bias = ms.Tensor(-mean / std)
        self.conv = ops.Conv2D(channels, (1, 1))  # a tuple: the ONNX exporter needs one
        self.bias_add = ops.BiasAdd()

    @classmethod
    def from_preprocessor(cls, pre):
        """The equivalent of a ``ClsDataPreprocessor`` with mean/std, else None."""
        if not getattr(pre, 'normalize', False) or pre.mean is None:
            return None
        return cls(pre.mean.asnumpy(), pre.std.asnumpy(), pre.to_rgb)

    def construct(self, inputs):
        return self.bias_add(self.conv(inputs.astype(ms.float32), self.weight), self.bias)


def optimize_for_inference(model):
    """Apply the fast path in place (eval mode only); returns what changed."""
    changes = []
    fused = fuse_conv_bn(model)
    if fused:
        changes.append(f'{fused} BatchNorms folded into their convolutions')
    pre = getattr(model, 'data_preprocessor', None)
    fast = AffinePreprocessor.from_preprocessor(pre) if pre is not None else None
    if fast is not None:
        model.data_preprocessor = fast
        changes.append('preprocessor -> cast + 1x1 conv')
    relus = fuse_activations(model)  # only where the convs are oneDNN's
    if relus:
        changes.append(f'{relus} ReLUs fused into their oneDNN convolutions')
    return changes
