"""mmcls_ms.ops.pool2d: the kernel library's max/average pooling as a MindSpore custom op."""
import os.path as osp

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.ops.pool2d import OneDNNPool2d, use_onednn_pools

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

POOLS = {
    'max3s2': lambda: nn.MaxPool2d(3, 2),                      # Inception's stem / reductions
    'max2s2': lambda: nn.MaxPool2d(2, 2),                      # VGG
    'max3s1pad1': lambda: nn.MaxPool2d(3, 1, pad_mode='pad', padding=1),
    'avg3s1pad1_include': lambda: nn.AvgPool2d(3, 1, pad_mode='pad', padding=1),
    'avg3s1pad1_exclude': lambda: nn.AvgPool2d(3, 1, pad_mode='pad', padding=1,
                                               count_include_pad=False),  # MindCV's weights
    'avg2s2': lambda: nn.AvgPool2d(2, 2),
    # the other paths of the kernels: padded and overlapping at stride 2, overlapping at
    # stride 1, windows that tile the input at a stride read at run time, non-square windows
    'max3s2pad1': lambda: nn.MaxPool2d(3, 2, pad_mode='pad', padding=1),
    'max2s1': lambda: nn.MaxPool2d(2, 1),
    'max3s3': lambda: nn.MaxPool2d(3, 3),
    'max2x3s2x3': lambda: nn.MaxPool2d((2, 3), (2, 3)),
    'avg3s2pad1_exclude': lambda: nn.AvgPool2d(3, 2, pad_mode='pad', padding=1,
                                               count_include_pad=False),
    'avg3s3': lambda: nn.AvgPool2d(3, 3),
    'avg3x2s1x2pad1': lambda: nn.AvgPool2d((3, 2), (1, 2), pad_mode='pad', padding=(1, 1)),
}


class _Readout(nn.Cell):
    """A weighted sum of the pool's output: distinct weights, so each routed gradient counts."""

    def __init__(self, pool, weights):
        super().__init__()
        self.pool = pool
        self.weights = weights

    def construct(self, x):
        return (self.pool(x) * self.weights).sum()


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('name', sorted(POOLS))
def test_forward_and_gradient_equal_mindspore_pool(mode, name):
    ms.set_context(mode=mode)
    pool = POOLS[name]()
    fast = OneDNNPool2d(pool)
    x = ms.Tensor(np.random.default_rng(0).standard_normal((2, 5, 13, 11)), ms.float32)
    expected, got = pool(x).asnumpy(), fast(x).asnumpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    weights = ms.Tensor(np.random.default_rng(1).standard_normal(expected.shape), ms.float32)
    grad_expected = ms.grad(_Readout(pool, weights))(x).asnumpy()
    grad_got = ms.grad(_Readout(fast, weights))(x).asnumpy()
    np.testing.assert_allclose(grad_got, grad_expected, rtol=1e-5, atol=1e-6)


# Windows with several equal maxima: the gradient goes to the first in row-major order.
TIED_INPUTS = {
    'relu_of_integers': lambda rng: np.maximum(np.round(rng.standard_normal((2, 3, 13, 11))), 0),
    'all_equal': lambda rng: np.ones((2, 3, 9, 10)),
}


@pytest.mark.parametrize('inputs', sorted(TIED_INPUTS))
@pytest.mark.parametrize('name', sorted(name for name in POOLS if name.startswith('max')))
def test_max_pool_gradient_of_ties_equals_mindspore(name, inputs):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    pool = POOLS[name]()
    fast = OneDNNPool2d(pool)
    rng = np.random.default_rng(0)
    x = ms.Tensor(TIED_INPUTS[inputs](rng), ms.float32)
    np.testing.assert_array_equal(fast(x).asnumpy(), pool(x).asnumpy())
    weights = ms.Tensor(rng.standard_normal(pool(x).shape), ms.float32)
    np.testing.assert_array_equal(ms.grad(_Readout(fast, weights))(x).asnumpy(),
                                  ms.grad(_Readout(pool, weights))(x).asnumpy())


def test_unsupported_pools_are_named_or_left_alone():
    ceil = nn.MaxPool2d(2, 2, pad_mode='pad', padding=0, ceil_mode=True)
    with pytest.raises(ValueError, match='ceil_mode=True'):
        OneDNNPool2d(ceil)
    net = nn.SequentialCell([nn.MaxPool2d(2, 2), ceil, nn.AvgPool2d(3, 1, pad_mode='same')])
    net.set_train(False)
    assert use_onednn_pools(net) == 1
    assert isinstance(net[0], OneDNNPool2d) and net[1] is ceil


def test_inception_v3_logits_unchanged(tmp_path):
    """All 13 pools of InceptionV3 (4 max, 9 padded average) swapped: same logits."""
    from mmcls_ms.apis import get_model
    from mmcls_ms.ops.cpu_backend import select_conv_backend
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(0)
    select_conv_backend('mindspore')  # MindSpore's pools, to swap here
    try:
        model = get_model(osp.join(REPO, 'configs', 'inception_v3',
                                   'inception-v3_8xb32_in1k.py'))
    finally:
        select_conv_backend('auto')
    model.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).integers(0, 256, (2, 3, 96, 96)).astype(np.uint8))
    expected = model(x).asnumpy()
    assert use_onednn_pools(model) == 13
    got = model(x).asnumpy()
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())
