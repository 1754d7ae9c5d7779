"""The inference fast path keeps the logits (BN folding, preprocessor as a 1x1 conv)."""
import os

import numpy as np
import pytest

import mindspore as ms

from mmcls_ms.apis import get_model
from mmcls_ms.deployment import AffinePreprocessor, fuse_conv_bn, optimize_for_inference
from mmcls_ms.models.utils.data_preprocessor import ClsDataPreprocessor

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _calibrated(config, size):
    """A model whose BN statistics followed a few batches (non-trivial folding)."""
    model = get_model(os.path.join(REPO_ROOT, config))
    model.set_train(True)
    rng = np.random.default_rng(1)
    for _ in range(2):
        model(ms.Tensor(rng.integers(0, 256, (4, 3, size, size), dtype=np.uint8)))
    model.set_train(False)
    return model


@pytest.mark.parametrize('to_rgb', [True, False])
def test_affine_preprocessor_matches(to_rgb):
    pre = ClsDataPreprocessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                              to_rgb=to_rgb)
    x = ms.Tensor(np.random.default_rng(0).integers(0, 256, (2, 3, 5, 6), dtype=np.uint8))
    fast = AffinePreprocessor.from_preprocessor(pre)
    np.testing.assert_allclose(fast(x).asnumpy(), pre(x).asnumpy(), rtol=0, atol=1e-5)
    assert AffinePreprocessor.from_preprocessor(ClsDataPreprocessor()) is None  # cast only


@pytest.mark.parametrize('config,size,n_bn', [
    ('configs/vgg/vgg11bn-gap_1xb32_digits.py', 32, 8),
    ('configs/inception_v3/inception-v3-gap_1xb32_digits.py', 80, 94)])
def test_fuse_conv_bn_keeps_logits(config, size, n_bn):
    model = _calibrated(config, size)
    x = ms.Tensor(np.random.default_rng(2).integers(0, 256, (2, 3, size, size), dtype=np.uint8))
    expected = model(x).asnumpy()
    assert fuse_conv_bn(model) == n_bn
    got = model(x).asnumpy()
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())
    assert not any('moving_mean' in p.name for p in model.get_parameters())
    names = [p.name for p in model.get_parameters()]
    assert len(names) == len(set(names))


def test_fuse_refuses_training_mode():
    model = get_model(os.path.join(REPO_ROOT, 'configs/vgg/vgg11bn-gap_1xb32_digits.py'))
    model.set_train(True)
    with pytest.raises(RuntimeError, match='inference'):
        fuse_conv_bn(model)


def test_optimize_for_inference_in_graph_mode():
    model = _calibrated('configs/vgg/vgg11bn_8xb32_in1k.py', 224)
    x = ms.Tensor(np.random.default_rng(3).integers(0, 256, (2, 3, 224, 224), dtype=np.uint8))
    expected = model(x).asnumpy()
    changes = optimize_for_inference(model)
    assert changes == ['8 BatchNorms folded into their convolutions',
                       'preprocessor -> cast + 1x1 conv',
                       '8 ReLUs fused into their oneDNN convolutions']  # the default engine
    got = ms.jit(model.construct)(x).asnumpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_fold_after_a_graph_mode_call_runs_the_folded_graph():
    """Regression: MindSpore keys compiled graphs by the Cell, not its structure, so
    a model already called in graph mode kept its unfolded graph after folding
    (BN applied to the folded weights again: logits off by 5%)."""
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = _calibrated('configs/vgg/vgg11bn-gap_1xb32_digits.py', 32)
        x = ms.Tensor(np.random.default_rng(4).integers(0, 256, (2, 3, 32, 32), dtype=np.uint8))
        expected = model(x).asnumpy()
        assert fuse_conv_bn(model) == 8
        got = model(x).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())
