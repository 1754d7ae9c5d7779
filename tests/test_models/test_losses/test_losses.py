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


def _smoothed(one_hot, eps, mode):
    """mmpretrain's three smoothing formulas, written out."""
    classes = one_hot.shape[1]
    if mode == 'original':
        return one_hot * (1 - eps) + eps / classes
    if mode == 'classy_vision':
        eps = eps / (1 + eps)
        return one_hot * (1 - eps) + eps / classes
    return np.where(one_hot > 0, 1 - eps, eps)


def _bce(logits, target, class_weight=None, pos_weight=None):
    """torch's binary_cross_entropy_with_logits per element, in float64."""
    z = logits.astype(np.float64)
    sig = 1 / (1 + np.exp(-z))
    pos = target * np.log(sig) * (1 if pos_weight is None else pos_weight)
    loss = -(pos + (1 - target) * np.log(1 - sig))
    return loss * (1 if class_weight is None else class_weight)


@pytest.mark.parametrize('mode', ['original', 'classy_vision', 'multi_label'])
@pytest.mark.parametrize('use_sigmoid', [None, True, False])
@pytest.mark.parametrize('soft', [False, True])
def test_label_smooth_modes_match_numpy(batch, mode, use_sigmoid, soft):
    logits, labels = batch
    eps = 0.2
    one_hot = np.eye(5)[labels]
    target = labels
    if soft:  # a Mixup-style target: 0.7 of the label, 0.3 of the next sample's
        one_hot = 0.7 * one_hot + 0.3 * one_hot[np.roll(np.arange(6), 1)]
        target = one_hot.astype(np.float32)
    smoothed = _smoothed(one_hot, eps, mode)
    sigmoid = mode == 'multi_label' if use_sigmoid is None else use_sigmoid
    weights = np.array([1.0, 2.0, 0.5, 1.5, 3.0])
    loss = LabelSmoothLoss(eps, mode=mode, use_sigmoid=use_sigmoid,
                           class_weight=weights.tolist())
    if sigmoid:
        elements = _bce(logits, smoothed, class_weight=weights)
        # the head passes avg_factor=N: a sum over the classes, a mean over the samples
        want_head, want_plain = elements.sum() / 6, elements.mean()
    else:
        per_sample = -(smoothed * weights * _log_softmax(logits.astype(np.float64))).sum(1)
        want_head = want_plain = per_sample.mean()
    got_head = float(loss(ms.Tensor(logits), ms.Tensor(target), avg_factor=6))
    got_plain = float(loss(ms.Tensor(logits), ms.Tensor(target)))
    assert got_head == pytest.approx(want_head, rel=1e-5)
    assert got_plain == pytest.approx(want_plain, rel=1e-5)


def test_label_smooth_sigmoid_pos_weight_and_reductions(batch):
    logits, labels = batch
    smoothed = _smoothed(np.eye(5)[labels], 0.1, 'multi_label')
    pos = np.array([2.0, 1.0, 1.0, 0.5, 4.0])
    elements = _bce(logits, smoothed, pos_weight=pos)
    loss = LabelSmoothLoss(0.1, mode='multi_label', pos_weight=pos.tolist(), reduction='none')
    np.testing.assert_allclose(loss(ms.Tensor(logits), ms.Tensor(labels)).asnumpy(), elements,
                               rtol=1e-5)
    total = LabelSmoothLoss(0.1, mode='multi_label', pos_weight=pos.tolist(), reduction='sum',
                            loss_weight=0.5)
    assert float(total(ms.Tensor(logits), ms.Tensor(labels))) == pytest.approx(
        0.5 * elements.sum(), rel=1e-5)


@pytest.mark.slow  # compiles a graph
def test_label_smooth_sigmoid_trains_in_a_compiled_head():
    """The head passes avg_factor inside the compiled graph."""
    ms.set_context(mode=ms.GRAPH_MODE)
    head = MODELS.build(dict(type='LinearClsHead', num_classes=5, in_channels=4, loss=dict(
        type='LabelSmoothLoss', label_smooth_val=0.1, mode='multi_label')))
    rng = np.random.default_rng(3)
    feats = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 5, 6).astype(np.int32)

    class Loss(ms.nn.Cell):
        def __init__(self, head):
            super().__init__()
            self.head = head

        def construct(self, x, y):
            return self.head.loss(x, y)

    got = float(Loss(head)(ms.Tensor(feats), ms.Tensor(labels)))
    logits = head(ms.Tensor(feats)).asnumpy()
    want = _bce(logits, _smoothed(np.eye(5)[labels], 0.1, 'multi_label')).sum() / 6
    assert got == pytest.approx(want, rel=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='label_smoothing'):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match='mode'):
        LabelSmoothLoss(0.1, mode='nope')
    with pytest.raises(ValueError, match='use_sigmoid'):
        CrossEntropyLoss(use_sigmoid=True)
    with pytest.raises(ValueError, match='pos_weight .* use_sigmoid=True'):
        LabelSmoothLoss(0.1, pos_weight=[1.0] * 5)
