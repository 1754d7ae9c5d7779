import numpy as np
import pytest

from mmcls_ms.datasets.transforms import ColorJitter, RandomErasing
from mmcls_ms.datasets.transforms.color import (adjust_brightness, adjust_contrast,
                                                adjust_hue, adjust_saturation)


def test_adjust_ops_by_hand():
    img = np.array([[[10, 100, 200], [50, 50, 50]]], np.uint8)
    assert adjust_brightness(img, 1.5).tolist() == [[[15, 150, 255], [75, 75, 75]]]
    # saturation 0 -> the luma: 0.114 B + 0.587 G + 0.299 R = 119.6 -> 120
    gray = adjust_saturation(img, 0.0)
    assert gray[0, 0].tolist() == [120, 120, 120] and gray[0, 1].tolist() == [50, 50, 50]
    # contrast 0 -> the mean luma of the image, (120 + 50) / 2 = 85
    assert np.all(adjust_contrast(img, 0.0) == 85)
    # factor 1 leaves the image alone
    for fn in (adjust_brightness, adjust_saturation, adjust_contrast):
        assert np.array_equal(fn(img, 1.0), img)
    # a hue turn of 1/3 maps pure blue to pure red (BGR), within HSV rounding
    blue = np.array([[[255, 0, 0]]], np.uint8)
    assert np.abs(adjust_hue(blue, 1 / 3).astype(int) - [0, 0, 255]).max() <= 6


def test_color_jitter_is_seeded_and_bounded():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    a = jitter(dict(img=img, rng=np.random.default_rng(5)))['img']
    b = jitter(dict(img=img, rng=np.random.default_rng(5)))['img']
    assert np.array_equal(a, b) and a.dtype == np.uint8 and not np.array_equal(a, img)
    # brightness only: every pixel scaled by one factor in [0.6, 1.4]
    flat = np.full((4, 4, 3), 100, np.uint8)
    for seed in range(30):
        out = ColorJitter(brightness=0.4)(dict(img=flat, rng=np.random.default_rng(seed)))['img']
        assert len(np.unique(out)) == 1 and 60 <= out[0, 0, 0] <= 140
    assert np.array_equal(ColorJitter()(dict(img=img))['img'], img)
    with pytest.raises(ValueError, match='brightness'):
        ColorJitter(brightness=-1)


def test_random_erasing_const_fill_and_area():
    img = np.zeros((40, 40, 3), np.uint8)
    erase = RandomErasing(erase_prob=1.0, min_area_ratio=0.1, max_area_ratio=0.2,
                          fill_color=(1, 2, 3))
    rng = np.random.default_rng(0)
    for _ in range(100):
        out = erase(dict(img=img, rng=rng))['img']
        mask = out.any(axis=2)
        ys, xs = np.nonzero(mask)
        # one solid rectangle of the fill colour
        assert mask.sum() == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert np.all(out[mask] == [1, 2, 3])
        assert 0.1 * 1600 * 0.8 <= mask.sum() <= 0.2 * 1600 * 1.2
    assert np.array_equal(RandomErasing(erase_prob=0.0)(dict(img=img))['img'], img)


def test_random_erasing_probability_and_rand_mode():
    img = np.zeros((20, 20, 3), np.uint8)
    rng = np.random.default_rng(1)
    erase = RandomErasing(erase_prob=0.25)
    hits = [erase(dict(img=img, rng=rng))['img'].any() for _ in range(2000)]
    assert abs(np.mean(hits) - 0.25) < 0.03
    noisy = RandomErasing(erase_prob=1.0, mode='rand', min_area_ratio=0.3)(
        dict(img=img, rng=rng))['img']
    assert len(np.unique(noisy)) > 20
    with pytest.raises(ValueError, match='mode'):
        RandomErasing(mode='zeros')
