import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.models import InceptionV3
from mmcls_ms.models.backbones.inception_v3 import InceptionA


def _params(cell):
    return sum(int(np.prod(p.shape)) for p in cell.trainable_params())


def test_parameter_counts():
    assert _params(InceptionV3(num_classes=1000, aux_logits=False)) == 23_834_568
    assert _params(InceptionV3(num_classes=1000, aux_logits=True)) == 27_161_264


def test_parameter_names_follow_mmpretrain():
    names = [p.name for p in InceptionV3(aux_logits=True).get_parameters()]
    assert names[0] == 'Conv2d_1a_3x3.conv.weight'
    for name in ('Mixed_7c.branch3x3dbl_3b.bn.gamma', 'Mixed_7c.branch3x3dbl_3b.bn.beta',
                 'Mixed_7c.branch3x3dbl_3b.bn.moving_mean',
                 'Mixed_7c.branch3x3dbl_3b.bn.moving_variance',
                 'AuxLogits.conv0.conv.weight', 'AuxLogits.fc.weight', 'fc.weight', 'fc.bias'):
        assert name in names
    # the aux classifier sits between Mixed_6e and Mixed_7a, as in torchvision
    first = {prefix: next(i for i, n in enumerate(names) if n.startswith(prefix))
             for prefix in ('Mixed_6e', 'AuxLogits', 'Mixed_7a')}
    assert first['Mixed_6e'] < first['AuxLogits'] < first['Mixed_7a']
    assert not any('bias' in n for n in names if '.conv.' in n)  # convs have no bias


def test_bn_eps_and_momentum_conversion():
    net = InceptionV3(num_classes=10)
    bn = net.Mixed_5b.branch1x1.bn
    assert bn.eps == pytest.approx(1e-3)
    # nn.BatchNorm2d is given 1 - 0.1 = 0.9 and keeps ``1 - that`` for its kernel
    assert float(bn.momentum) == pytest.approx(0.1)
    net = InceptionV3(num_classes=10, norm_cfg=dict(type='BN', eps=1e-3, momentum=0.0003))
    assert float(net.Mixed_5b.branch1x1.bn.momentum) == pytest.approx(0.0003)  # MindCV's


def test_forward_299_eval_and_train_with_aux():
    ms.set_seed(0)
    net = InceptionV3(num_classes=7, aux_logits=True)
    x = ms.Tensor(np.random.default_rng(0).standard_normal((1, 3, 299, 299), np.float32))
    net.set_train(False)
    outs = net(x)
    assert len(outs) == 1 and outs[0].shape == (1, 7)
    net.set_train(True)
    aux, logits = net(x)
    assert aux.shape == (1, 7) and logits.shape == (1, 7)


def test_spatial_sizes_follow_the_paper_table():
    net = InceptionV3(num_classes=-1)
    net.set_train(False)
    x = ms.Tensor(np.zeros((1, 3, 299, 299), np.float32))
    feats = net(x)
    assert len(feats) == 1 and feats[0].shape == (1, 2048, 8, 8)


def test_without_classifier_small_input():
    net = InceptionV3(num_classes=-1)
    assert not hasattr(net, 'fc')
    net.set_train(False)
    (feat,) = net(ms.Tensor(np.zeros((2, 3, 75, 75), np.float32)))
    assert feat.shape == (2, 2048, 1, 1)


def test_input_size_errors_are_clear():
    net = InceptionV3(num_classes=3)
    net.set_train(False)
    with pytest.raises(ValueError, match='75x75'):
        net(ms.Tensor(np.zeros((1, 3, 64, 64), np.float32)))
    net = InceptionV3(num_classes=3, aux_logits=True)
    net.set_train(True)
    with pytest.raises(ValueError, match='299x299'):
        net(ms.Tensor(np.zeros((2, 3, 80, 80), np.float32)))
    with pytest.raises(ValueError, match='299x299'):
        ms.jit(net.construct)(ms.Tensor(np.zeros((2, 3, 80, 80), np.float32)))


def test_aux_logits_needs_classes():
    with pytest.raises(ValueError, match='aux_logits'):
        InceptionV3(num_classes=-1, aux_logits=True)


def test_pool_count_include_pad_option():
    """True: torchvision (zeros in the padding count); False: MindCV (they don't)."""
    x = np.random.default_rng(1).random((1, 4, 5, 5), np.float32) + 1.0
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    window_sum = sum(padded[:, :, i:i + 5, j:j + 5] for i in range(3) for j in range(3))
    window_cnt = sum(ones[:, :, i:i + 5, j:j + 5] for i in range(3) for j in range(3))
    for include_pad, expected in ((True, window_sum / 9.0), (False, window_sum / window_cnt)):
        block = InceptionA(4, 8, dict(type='BN', eps=1e-3), pool_count_include_pad=include_pad)
        pooled = block.branch_pool_downsample(ms.Tensor(x)).asnumpy()
        np.testing.assert_allclose(pooled, expected, rtol=1e-5)


def test_init_is_deterministic_with_seed():
    ms.set_seed(3)
    a = InceptionV3(num_classes=10).Conv2d_1a_3x3.conv.weight.asnumpy()
    ms.set_seed(3)
    b = InceptionV3(num_classes=10).Conv2d_1a_3x3.conv.weight.asnumpy()
    np.testing.assert_array_equal(a, b)
    assert 0.08 < a.std() < 0.12  # TruncNormal(std 0.1)
    assert isinstance(InceptionV3(num_classes=10, dropout=0.0).dropout, nn.Identity)
