import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import ClsDataPreprocessor
from mmcls_ms.models.utils.norm import build_norm_layer, torch_to_mindspore_momentum


def test_momentum_conversion_and_errors():
    assert torch_to_mindspore_momentum(0.1) == pytest.approx(0.9)
    bn = build_norm_layer(dict(type='BN', momentum=0.3, requires_grad=False), 4, default_eps=1e-3)
    assert bn.eps == pytest.approx(1e-3)
    assert not bn.gamma.requires_grad and not bn.beta.requires_grad
    # running = (1 - m) * running + m * batch_mean, running starts at 0
    bn.set_train(True)
    x = np.random.default_rng(0).random((2, 4, 3, 3), np.float32) + 1
    bn(ms.Tensor(x))
    np.testing.assert_allclose(bn.moving_mean.asnumpy(), 0.3 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    with pytest.raises(ValueError, match='momentum'):
        build_norm_layer(dict(type='BN', momentum=1.5), 4)
    with pytest.raises(KeyError, match='GN'):
        build_norm_layer(dict(type='GN'), 4)
    with pytest.raises(KeyError, match='affine'):
        build_norm_layer(dict(type='BN', affine=False), 4)


def test_preprocessor_normalises_and_flips():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 3, 4, 5), dtype=np.uint8)
    mean, std = [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]
    pre = ClsDataPreprocessor(mean=mean, std=std, to_rgb=True)
    expected = (x[:, ::-1].astype(np.float32) - np.reshape(mean, (1, 3, 1, 1))) / \
        np.reshape(std, (1, 3, 1, 1))
    np.testing.assert_allclose(pre(ms.Tensor(x)).asnumpy(), expected, rtol=1e-6)
    cast_only = ClsDataPreprocessor()(ms.Tensor(x))
    assert cast_only.dtype == ms.float32
    np.testing.assert_array_equal(cast_only.asnumpy(), x.astype(np.float32))
    assert list(pre.get_parameters()) == []  # mean/std never enter checkpoints
    with pytest.raises(ValueError, match='both mean and std'):
        ClsDataPreprocessor(mean=mean)
