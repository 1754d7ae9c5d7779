"""mmcls_ms.ops.pool2d: oneDNN max/average pooling as a MindSpore custom op."""
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
