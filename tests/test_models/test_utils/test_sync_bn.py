"""SyncBatchNorm2d's arithmetic against MindSpore's own BatchNorm2d in one process.

The cross-rank half (2 msrun ranks x batch b == 1 process x batch 2b) is in
tests/test_tools/test_dist.py.
"""
import warnings

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, ops

from mmcls_ms.models.utils.norm import build_norm_layer
from mmcls_ms.models.utils.sync_bn import SyncBatchNorm2d


class _ConvBN(nn.Cell):
    def __init__(self, bn):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, weight_init='he_uniform')  # a bias before BN has zero grad
        self.bn = bn
        # a fixed random read-out: a loss that BN's scale invariance cannot hide
        self.readout = ms.Tensor(np.random.default_rng(5).standard_normal((1, 4, 9, 9)),
                                 ms.float32)

    def construct(self, x):
        return (ops.relu(self.bn(self.conv(x))) * self.readout).sum()


def _step(net, x, mode):
    """Loss, gradients of all trainable parameters, after one training forward."""
    ms.set_context(mode=mode)
    net.set_train(True)
    grad_fn = ms.value_and_grad(net, None, net.trainable_params())
    loss, grads = grad_fn(ms.Tensor(x))
    return float(loss.asnumpy()), [g.asnumpy() for g in grads]


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
def test_local_statistics_equal_batchnorm2d(mode):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 3, 9, 9)) * 3 + 2).astype(np.float32)
    ms.set_seed(0)
    reference = _ConvBN(nn.BatchNorm2d(4, eps=1e-3, momentum=0.7))
    synced = _ConvBN(SyncBatchNorm2d(4, eps=1e-3, momentum=0.3))
    ms.load_param_into_net(synced, {p.name: ms.Parameter(p.data.copy(), p.name)
                                    for p in reference.get_parameters()})
    # the two share every parameter name, so checkpoints interchange
    assert [p.name for p in synced.get_parameters()] == \
        [p.name for p in reference.get_parameters()]

    loss_ref, grads_ref = _step(reference, x, mode)
    loss_syn, grads_syn = _step(synced, x, mode)
    assert loss_syn == pytest.approx(loss_ref, rel=1e-5)
    for g_syn, g_ref in zip(grads_syn, grads_ref):
        assert np.abs(g_syn - g_ref).max() <= 1e-5 * np.abs(g_ref).max()
    # running stats: PyTorch momentum 0.3, unbiased variance, as BatchNorm2d
    for name in ('moving_mean', 'moving_variance'):
        np.testing.assert_allclose(getattr(synced.bn, name).asnumpy(),
                                   getattr(reference.bn, name).asnumpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(synced.bn.moving_mean.asnumpy()).max() > 0.01  # they did move

    # eval mode uses the running statistics
    reference.set_train(False)
    synced.set_train(False)
    feat = ms.Tensor(rng.standard_normal((2, 4, 5, 5)).astype(np.float32))
    np.testing.assert_allclose(synced.bn(feat).asnumpy(), reference.bn(feat).asnumpy(),
                               rtol=1e-5, atol=1e-5)


def test_all_reduce_is_applied_to_the_statistics():
    """A stand-in 'world' of two identical ranks: the sums double, the count
    doubles, so the output equals local BN, and the count really is global."""

    class TwoIdenticalRanks(nn.Cell):
        def construct(self, values):
            return values * 2

    x = ms.Tensor(np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(np.float32))
    doubled = SyncBatchNorm2d(3, momentum=1.0, all_reduce=TwoIdenticalRanks())
    local = SyncBatchNorm2d(3, momentum=1.0)
    doubled.set_train(True)
    local.set_train(True)
    np.testing.assert_allclose(doubled(x).asnumpy(), local(x).asnumpy(), rtol=1e-5, atol=1e-5)
    # unbiased variance with n = 64 (two ranks) differs from n = 32 (one)
    n_global, n_local = 64, 32
    biased = x.asnumpy().var(axis=(0, 2, 3))
    np.testing.assert_allclose(doubled.moving_variance.asnumpy(),
                               biased * n_global / (n_global - 1), rtol=1e-5)
    np.testing.assert_allclose(local.moving_variance.asnumpy(),
                               biased * n_local / (n_local - 1), rtol=1e-5)


def test_syncbn_in_one_process_is_batchnorm2d_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        bn = build_norm_layer(dict(type='SyncBN', momentum=0.2), 8)
    assert isinstance(bn, nn.BatchNorm2d)
    with pytest.raises(ValueError, match='momentum'):
        build_norm_layer(dict(type='SyncBN', momentum=2.0), 8)
    assert 'synchronised=False' in repr(SyncBatchNorm2d(2))
