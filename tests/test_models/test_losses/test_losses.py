import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import CrossEntropyLoss, LabelSmoothLoss
from mmcls_ms.registry import MODELS


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 5, 6).astype(np.int32)


def test_cross_entropy_matches_numpy(batch):
    logits, labels = batch
    expected = -_log_softmax(logits)[np.arange(6), labels]
    loss = CrossEntropyLoss(loss_weight=2.0)
    assert float(loss(ms.Tensor(logits), ms.Tensor(labels))) == pytest.approx(
        2.0 * expected.mean(), rel=1e-5)
    per_sample = CrossEntropyLoss(reduction='none')(ms.Tensor(logits), ms.Tensor(labels))
    np.testing.assert_allclose(per_sample.asnumpy(), expected, rtol=1e-5)


def test_label_smoothing_and_class_weight(batch):
    logits, labels = batch
    eps, classes = 0.1, 5
    target = np.full((6, classes), eps / classes, np.float32)
    target[np.arange(6), labels] += 1 - eps
    expected = -(target * _log_softmax(logits)).sum(axis=1).mean()
    smooth = MODELS.build(dict(type='CrossEntropyLoss', label_smoothing=eps))
    assert float(smooth(ms.Tensor(logits), ms.Tensor(labels))) == pytest.approx(expected, rel=1e-5)
    original = LabelSmoothLoss(label_smooth_val=eps)
    value = float(original(ms.Tensor(logits), ms.Tensor(labels)))
    assert value == pytest.approx(expected, rel=1e-5)

    classy = LabelSmoothLoss(label_smooth_val=eps, mode='classy_vision')
    one_hot = np.eye(classes, dtype=np.float32)[labels]
    target = (one_hot + eps / classes) / (1 + eps)
    expected = -(target * _log_softmax(logits)).sum(axis=1).mean()
    assert float(classy(ms.Tensor(logits), ms.Tensor(labels))) == pytest.approx(expected, rel=1e-5)

    weights = np.arange(1, 6, dtype=np.float32)
    weighted = CrossEntropyLoss(class_weight=weights.tolist())
    expected = (-_log_softmax(logits)[np.arange(6), labels] * weights[labels]).mean()
    value = float(weighted(ms.Tensor(logits), ms.Tensor(labels)))
    assert value == pytest.approx(expected, rel=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='label_smoothing'):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match='mode'):
        LabelSmoothLoss(0.1, mode='nope')
    with pytest.raises(ValueError, match='use_sigmoid'):
        CrossEntropyLoss(use_sigmoid=True)
