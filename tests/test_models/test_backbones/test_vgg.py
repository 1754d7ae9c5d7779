import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import VGG
from mmcls_ms.weights.converters import vgg_feature_indices

PARAM_COUNTS = {
    (11, False): 132_863_336, (13, False): 133_047_848, (16, False): 138_357_544,
    (19, False): 143_667_240, (11, True): 132_868_840, (13, True): 133_053_736,
    (16, True): 138_365_992, (19, True): 143_678_248,
}


def _params(cell):
    return sum(int(np.prod(p.shape)) for p in cell.trainable_params())


# building a VGG with its 124M-weight classifier takes seconds: half of them are slow
FAST = {(11, False), (16, False), (11, True), (19, True)}


@pytest.mark.parametrize('depth,with_bn', [
    key if key in FAST else pytest.param(*key, marks=pytest.mark.slow)
    for key in sorted(PARAM_COUNTS)])
def test_parameter_counts(depth, with_bn):
    norm_cfg = dict(type='BN') if with_bn else None
    net = VGG(depth=depth, num_classes=1000, norm_cfg=norm_cfg)
    assert _params(net) == PARAM_COUNTS[(depth, with_bn)]


def test_parameter_names_and_bn_defaults():
    net = VGG(depth=16, num_classes=1000, norm_cfg=dict(type='BN'))
    names = [p.name for p in net.get_parameters()]
    for name in ('features.14.conv.bias', 'features.14.bn.gamma', 'features.14.bn.moving_variance',
                 'classifier.0.weight', 'classifier.3.bias', 'classifier.6.weight'):
        assert name in names
    bn = net.features[0].bn
    assert bn.eps == pytest.approx(1e-5) and float(bn.momentum) == pytest.approx(0.1)


def _tv_to_mm(depth, with_bn):
    return {tv: mm for mm, tv in vgg_feature_indices(depth, with_bn)}


def test_feature_index_map_matches_mmpretrain_converter_table():
    # torchvision -> mmpretrain indices, from mmpretrain's vgg_to_mmpretrain.py
    assert _tv_to_mm(11, False) == dict(zip(
        [0, 3, 6, 8, 11, 13, 16, 18], [0, 2, 4, 5, 7, 8, 10, 11]))
    assert list(_tv_to_mm(16, True)) == [
        0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]
    assert list(_tv_to_mm(19, False).values()) == [
        0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]
    net = VGG(depth=19, num_classes=-1)
    conv_indices = sorted({int(p.name.split('.')[1]) for p in net.get_parameters()})
    assert conv_indices == list(_tv_to_mm(19, False).values())


def test_out_indices_and_shapes():
    net = VGG(depth=11, num_classes=-1, out_indices=(0, 1, 2, 3, 4))
    outs = net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32)))
    assert [o.shape for o in outs] == [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4),
                                       (1, 512, 2, 2), (1, 512, 1, 1)]
    net = VGG(depth=11, num_classes=-1, with_last_pool=False)
    assert net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32)))[-1].shape == (1, 512, 2, 2)
    with pytest.raises(ValueError, match='out_indices'):
        VGG(depth=11, num_classes=-1, out_indices=(5,))
    with pytest.raises(KeyError, match='depth'):
        VGG(depth=12)


def test_classifier_needs_224_unless_adaptive_pool():
    x64 = ms.Tensor(np.zeros((1, 3, 64, 64), np.float32))
    net = VGG(depth=11, num_classes=5, adaptive_pool=True)
    net.set_train(False)
    outs = net(x64)
    assert len(outs) == 1 and outs[0].shape == (1, 5)
    net = VGG(depth=11, num_classes=5)  # mmpretrain's layout: flatten of a 2x2 map
    net.set_train(False)
    with pytest.raises(ValueError, match='adaptive_pool=True'):
        net(x64)
    with pytest.raises(ValueError, match='224x224'):
        ms.jit(net.construct)(x64)


def test_frozen_stages_and_norm_eval():
    net = VGG(depth=11, num_classes=-1, norm_cfg=dict(type='BN'), frozen_stages=2)
    frozen = {p.name for p in net.get_parameters()
              if not p.requires_grad and 'moving' not in p.name}
    # stage 0: features.0 (conv) + 1 (pool); stage 1: features.2 + 3
    assert {n.split('.')[1] for n in frozen} == {'0', '2'}
    assert 'features.4.conv.weight' not in frozen
    assert net.features[0].bn.use_batch_statistics is False
    assert net.features[4].bn.use_batch_statistics is None

    # norm_eval: training mode keeps (and uses) the moving statistics
    net = VGG(depth=11, num_classes=-1, norm_cfg=dict(type='BN'), norm_eval=True)
    net.set_train(True)
    x = ms.Tensor(np.random.default_rng(0).random((2, 3, 32, 32), np.float32))
    before = net.features[0].bn.moving_mean.asnumpy().copy()
    train_out = net(x)[-1].asnumpy()
    np.testing.assert_array_equal(net.features[0].bn.moving_mean.asnumpy(), before)
    net.set_train(False)
    np.testing.assert_allclose(net(x)[-1].asnumpy(), train_out, rtol=1e-5, atol=1e-6)


def test_bn_moving_stats_update_with_torch_momentum():
    net = VGG(depth=11, num_classes=-1, num_stages=1, norm_cfg=dict(type='BN', momentum=0.1))
    net.set_train(True)
    x = np.random.default_rng(0).random((2, 3, 8, 8), np.float32)
    net(ms.Tensor(x))
    conv_out = net.features[0].conv(ms.Tensor(x)).asnumpy()
    # torch convention: running = 0.9 * running + 0.1 * batch_mean (running starts at 0)
    np.testing.assert_allclose(net.features[0].bn.moving_mean.asnumpy(),
                               0.1 * conv_out.mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-6)
