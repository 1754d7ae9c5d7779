"""Batch augments (``model.train_cfg``): Mixup, CutMix and ResizeMix against a numpy
reference of mmpretrain's algorithm (normalise, then mix), the choice among
augments with ``probs``, soft-target losses, and the refusals."""
import cv2
import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import CrossEntropyLoss, LabelSmoothLoss
from mmcls_ms.models.utils.batch_augments import CutMix, Mixup, RandomBatchAugment, ResizeMix
from mmcls_ms.models.utils.batch_augments.resizemix import resize_batch
from mmcls_ms.registry import MODELS

MEAN, STD = [10.0, 20.0, 30.0], [50.0, 60.0, 70.0]


def model_cfg(**train_cfg):
    return dict(type='ImageClassifier', backbone=dict(type='VGG', depth=11, num_classes=-1),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=5, in_channels=512),
                data_preprocessor=dict(mean=MEAN, std=STD, to_rgb=True),
                train_cfg=train_cfg)


def batch(n=6, size=16):
    rng = np.random.default_rng(7)
    return (rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8),
            rng.integers(0, 5, n).astype(np.int32))


def normalised(images):
    """mmpretrain's preprocessing before its batch augments: BGR->RGB, then normalise."""
    x = images[:, ::-1].astype(np.float64)
    return (x - np.array(MEAN).reshape(1, 3, 1, 1)) / np.array(STD).reshape(1, 3, 1, 1)


def reference_mixup(images, labels, alpha, rng):
    x, t = normalised(images), np.eye(5)[labels]
    lam = rng.beta(alpha, alpha)
    perm = rng.permutation(len(x))
    return lam * x + (1 - lam) * x[perm], lam * t + (1 - lam) * t[perm]


def reference_box(h, w, lam, rng):
    """CutMix's box of side ``sqrt(1 - lam)``, centred at random and clipped."""
    cut_h, cut_w = int(h * np.sqrt(1 - lam)), int(w * np.sqrt(1 - lam))
    cy, cx = rng.integers(0, h), rng.integers(0, w)
    return (max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h),
            max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w))


def reference_cutmix(images, labels, alpha, rng):
    x, t = normalised(images), np.eye(5)[labels]
    lam = rng.beta(alpha, alpha)
    perm = rng.permutation(len(x))
    h, w = x.shape[-2:]
    top, bottom, left, right = reference_box(h, w, lam, rng)
    out = x.copy()
    out[:, :, top:bottom, left:right] = x[perm][:, :, top:bottom, left:right]
    lam = 1 - (bottom - top) * (right - left) / (h * w)
    return out, lam * t + (1 - lam) * t[perm]


def reference_resizemix(images, labels, alpha, rng, lam_min=0.1, lam_max=0.8):
    """mmpretrain's ResizeMix; OpenCV's bilinear resize is torch's (align_corners=False)."""
    x, t = normalised(images), np.eye(5)[labels]
    lam = rng.beta(alpha, alpha) * (lam_max - lam_min) + lam_min
    perm = rng.permutation(len(x))
    h, w = x.shape[-2:]
    top, bottom, left, right = reference_box(h, w, lam, rng)
    out = x.copy()
    for i, j in enumerate(perm):
        for c in range(3):
            out[i, c, top:bottom, left:right] = cv2.resize(
                x[j, c], (right - left, bottom - top), interpolation=cv2.INTER_LINEAR)
    lam = 1 - (bottom - top) * (right - left) / (h * w)
    return out, lam * t + (1 - lam) * t[perm]


@pytest.mark.parametrize('kind,reference', [('Mixup', reference_mixup),
                                            ('CutMix', reference_cutmix),
                                            ('ResizeMix', reference_resizemix)])
@pytest.mark.parametrize('seed', [0, 3])
def test_mixed_batch_equals_numpy_reference(kind, reference, seed):
    model = MODELS.build(model_cfg(augments=[dict(type=kind, alpha=1.0)]))
    pre = model.data_preprocessor
    assert pre.num_classes == 5  # taken from the head
    images, labels = batch()
    mixed, targets = pre.augment(images, labels, np.random.default_rng(seed))
    # one augment, no `probs`: the choice draws once, then the augment draws
    rng = np.random.default_rng(seed)
    rng.choice(1, p=[1.0])
    want_x, want_t = reference(images, labels, 1.0, rng)
    got_x = pre(ms.Tensor(mixed)).asnumpy()
    np.testing.assert_allclose(got_x, want_x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(targets, want_t, rtol=1e-6, atol=1e-6)
    assert not np.allclose(targets, np.eye(5)[labels])  # something was mixed
    np.testing.assert_allclose(targets.sum(1), 1.0, rtol=1e-6)


@pytest.mark.parametrize('mode,flag', [('bilinear', cv2.INTER_LINEAR),
                                       ('nearest', cv2.INTER_NEAREST),
                                       ('bicubic', cv2.INTER_CUBIC)])
@pytest.mark.parametrize('size', [(5, 7), (20, 30), (13, 4)])
def test_resize_matches_torch_interpolate_modes(mode, flag, size):
    # OpenCV's float resize samples at pixel centres like torch's align_corners=False
    # (bicubic with a=-0.75, clamped borders; nearest with floor)
    x = np.random.default_rng(0).random((1, 1, 13, 17)).astype(np.float32)
    want = cv2.resize(x[0, 0], size[::-1], interpolation=flag)
    np.testing.assert_allclose(resize_batch(x, *size, mode)[0, 0], want, atol=1e-5)


def test_resize_area_is_adaptive_average_pooling():
    x = np.random.default_rng(1).random((2, 3, 11, 9))
    got = resize_batch(x, 4, 5, 'area')
    for i in range(4):
        for j in range(5):
            rows = slice(i * 11 // 4, -(-(i + 1) * 11 // 4))
            cols = slice(j * 9 // 5, -(-(j + 1) * 9 // 5))
            np.testing.assert_allclose(got[:, :, i, j], x[:, :, rows, cols].mean(axis=(2, 3)))


def test_resizemix_lam_range_and_prob():
    images, labels = batch(n=8, size=32)
    onehot = np.eye(5, dtype=np.float32)[labels]
    aug = ResizeMix(alpha=1.0, lam_min=0.3, lam_max=0.5)
    kept = []
    for seed in range(30):
        _, targets = aug(images, onehot, np.random.default_rng(seed))
        moved = np.abs(targets - onehot).sum(1).max() / 2  # 1 - lam where labels differ
        kept.append(1 - moved)
    # the box side is int(32 * sqrt(1 - lam)) and may be clipped: lam can only grow
    assert min(kept) >= 0.3 - 0.05 and max(kept) > 0.3
    never = ResizeMix(alpha=1.0, prob=0.0)
    x, t = never(images, onehot, np.random.default_rng(0))
    np.testing.assert_array_equal(x, images.astype(np.float32))
    np.testing.assert_array_equal(t, onehot)


def test_probs_choose_among_augments_and_identity():
    aug = RandomBatchAugment([dict(type='Mixup', alpha=1.0), dict(type='CutMix', alpha=1.0)],
                             probs=[0.3, 0.2])
    assert [type(a).__name__ for a in aug.augments] == ['Mixup', 'CutMix', 'NoneType']
    np.testing.assert_allclose(aug.probs, [0.3, 0.2, 0.5])
    images, labels = batch(n=4, size=8)
    onehot = np.eye(5, dtype=np.float32)[labels]
    rng = np.random.default_rng(0)
    unchanged = sum(np.array_equal(aug(images, onehot, rng)[1], onehot) for _ in range(400))
    assert 160 < unchanged < 240  # identity half of the time
    uniform = RandomBatchAugment([dict(type='Mixup', alpha=1.0), dict(type='CutMix', alpha=1.0)])
    np.testing.assert_allclose(uniform.probs, [0.5, 0.5])


@pytest.mark.parametrize('train_cfg,match', [
    (dict(augments=[dict(type='Mixup', alpha=0.0)]), 'Mixup alpha'),
    (dict(augments=[dict(type='CutMix', alpha=-1.0)]), 'CutMix alpha'),
    (dict(augments=[dict(type='ResizeMix', alpha=1.0, lam_min=0.9)]), 'lam_min'),
    (dict(augments=[dict(type='ResizeMix', alpha=1.0, interpolation='linear')]),
     'interpolation'),
    (dict(augments=[dict(type='ResizeMix', alpha=1.0, prob=1.5)]), 'ResizeMix prob'),
    (dict(augments=[dict(type='Mixup', alpha=0.8)], probs=[-0.1]), 'train_cfg.probs'),
    (dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)],
          probs=[0.6, 0.5]), 'train_cfg.probs'),
    (dict(augments=[dict(type='Mixup', alpha=0.8)], probs=[0.5, 0.5]), 'one per augment'),
    (dict(augments=[]), 'augments is empty'),
    (dict(augments=[dict(type='Mixup', alpha=0.8)], mixup=1), 'train_cfg'),
])
def test_bad_values_are_refused_at_build(train_cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(model_cfg(**train_cfg))


def test_cutmix_minmax_box():
    aug = CutMix(alpha=1.0, cutmix_minmax=[0.25, 0.5])
    (y1, y2, x1, x2), lam = aug.box(32, 32, 0.3, np.random.default_rng(0))
    assert 8 <= y2 - y1 < 16 and 8 <= x2 - x1 < 16
    assert lam == pytest.approx(1 - (y2 - y1) * (x2 - x1) / 1024)


def _log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_soft_target_losses_match_numpy():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 5)).astype(np.float32)
    images, labels = batch(n=4, size=8)
    _, soft = Mixup(alpha=1.0)(images.astype(np.float32), np.eye(5, dtype=np.float32)[labels],
                               rng)
    logp = _log_softmax(logits.astype(np.float64))
    want = -(soft * logp).sum(1).mean()
    for loss in (CrossEntropyLoss(use_soft=True), CrossEntropyLoss()):
        assert float(loss(ms.Tensor(logits), ms.Tensor(soft))) == pytest.approx(want, rel=1e-5)
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    want_w = -(soft * weights * logp).sum(1).mean()
    weighted = CrossEntropyLoss(use_soft=True, class_weight=weights.tolist())
    assert float(weighted(ms.Tensor(logits), ms.Tensor(soft))) == pytest.approx(want_w, rel=1e-5)
    eps = 0.1
    smooth = LabelSmoothLoss(label_smooth_val=eps)
    want_s = -((soft * (1 - eps) + eps / 5) * logp).sum(1).mean()
    assert float(smooth(ms.Tensor(logits), ms.Tensor(soft))) == pytest.approx(want_s, rel=1e-5)
    classy = LabelSmoothLoss(label_smooth_val=eps, mode='classy_vision')
    e = eps / (1 + eps)
    want_c = -((soft * (1 - e) + e / 5) * logp).sum(1).mean()
    assert float(classy(ms.Tensor(logits), ms.Tensor(soft))) == pytest.approx(want_c, rel=1e-5)
