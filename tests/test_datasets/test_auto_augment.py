import numpy as np
import pytest

from mmcls_ms.datasets.transforms import (AutoAugment, AutoContrast, Brightness,
                                          ColorTransform, Contrast, Cutout, Equalize, Invert,
                                          Posterize, RandAugment, Rotate, Sharpness, Shear,
                                          Solarize, SolarizeAdd, Translate)
from mmcls_ms.datasets.transforms.auto_augment import AUTOAUG_POLICIES, IMAGENET_POLICY


def apply(op, img, seed=0):
    op.prob = 1.0
    return op(dict(img=img.copy(), rng=np.random.default_rng(seed)))['img']


def test_pixel_ops_by_hand():
    img = np.array([[[0b10111111, 100, 200]]], np.uint8)
    assert apply(Posterize(bits=4), img).tolist() == [[[0b10110000, 96, 192]]]
    assert apply(Solarize(thr=128), img).tolist() == [[[255 - 191, 100, 55]]]
    assert apply(Invert(), img).tolist() == [[[64, 155, 55]]]
    assert apply(SolarizeAdd(magnitude=50), img).tolist() == [[[191, 150, 200]]]
    ramp = np.repeat(np.linspace(50, 150, 11).astype(np.uint8)[None, :, None], 3, axis=2)
    stretched = apply(AutoContrast(), ramp)
    assert stretched[0, 0, 0] == 0 and stretched[0, -1, 0] == 255
    assert np.array_equal(stretched[0, :, 0], np.rint((ramp[0, :, 0].astype(int) - 50) * 255 / 100))
    eq = apply(Equalize(), ramp)
    assert eq[0, -1, 0] == 255 and np.all(np.diff(eq[0, :, 0].astype(int)) > 0)


def test_geometric_ops_by_hand():
    img = np.arange(5 * 5 * 3, dtype=np.uint8).reshape(5, 5, 3)
    # random_negative_prob 0: the sign stays; 90 degrees clockwise about the centre
    rotated = apply(Rotate(angle=90, random_negative_prob=0.0), img)
    assert np.array_equal(rotated, np.rot90(img, k=-1))
    assert np.array_equal(apply(Shear(magnitude=0.0), img), img)
    shifted = apply(Translate(magnitude=0.4, random_negative_prob=0.0), img)  # 2 px right
    assert np.array_equal(shifted[:, 2:], img[:, :3]) and np.all(shifted[:, :2] == 128)
    down = apply(Translate(magnitude=0.4, direction='vertical', random_negative_prob=0.0,
                           pad_val=7), img)
    assert np.array_equal(down[2:], img[:3]) and np.all(down[:2] == 7)


def test_signed_magnitude_and_probability():
    img = np.full((4, 4, 3), 100, np.uint8)
    values = {int(apply(Brightness(magnitude=0.5), img, seed)[0, 0, 0]) for seed in range(40)}
    assert values == {50, 150}  # factor 1.5 or 0.5
    op = Invert(prob=0.3)
    rng = np.random.default_rng(0)
    changed = [op(dict(img=img, rng=rng))['img'][0, 0, 0] != 100 for _ in range(2000)]
    assert abs(np.mean(changed) - 0.3) < 0.04


def test_imagenet_policy_has_25_two_step_sub_policies():
    assert len(IMAGENET_POLICY) == 25
    policy = AUTOAUG_POLICIES['imagenet']
    assert all(len(sub) == 2 for sub in policy)
    first = policy[0]
    assert first[0] == dict(type='Posterize', bits=4, prob=0.4)
    assert first[1]['type'] == 'Rotate' and first[1]['angle'] == pytest.approx(30.0)
    assert policy[1][0]['thr'] == pytest.approx(256 / 9 * 4)


def test_auto_augment_is_seeded_and_keeps_shape():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    aa = AutoAugment(policies='imagenet')
    outs = [aa(dict(img=img.copy(), rng=np.random.default_rng(s)))['img'] for s in range(20)]
    again = [aa(dict(img=img.copy(), rng=np.random.default_rng(s)))['img'] for s in range(20)]
    assert all(np.array_equal(a, b) for a, b in zip(outs, again))
    assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
    assert sum(not np.array_equal(o, img) for o in outs) >= 10
    custom = AutoAugment(policies=[[dict(type='Invert', prob=1.0)]])
    assert np.array_equal(custom(dict(img=img))['img'], 255 - img)
    with pytest.raises(ValueError, match='unknown policy'):
        AutoAugment(policies='cifar100')


def test_rand_augment_levels():
    ra = RandAugment(num_policies=2, magnitude_level=9, total_level=10)
    rotate = next(op for op in ra.ops if isinstance(op, Rotate))
    # level 9 of 10 on the range (0, 30): 27 degrees (either sign)
    assert abs(rotate.draw_magnitude(np.random.default_rng(0))) == pytest.approx(27.0)
    posterize = next(op for op in ra.ops if isinstance(op, Posterize))
    assert posterize.draw_magnitude(np.random.default_rng(0)) == pytest.approx(0.4)
    noisy = RandAugment(magnitude_level=5, magnitude_std=1.0)
    rot = next(op for op in noisy.ops if isinstance(op, Rotate))
    mags = {abs(rot.draw_magnitude(np.random.default_rng(s))) for s in range(20)}
    assert len(mags) > 10 and max(mags) <= 30
    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    for s in range(30):
        out = ra(dict(img=img.copy(), rng=np.random.default_rng(s)))['img']
        assert out.shape == img.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match='magnitude_level'):
        RandAugment(magnitude_level=11)


def test_blend_ops_by_hand():
    img = np.array([[[10, 100, 200], [50, 50, 50]]], np.uint8)
    fixed = dict(random_negative_prob=0.0)
    # factor 1 + (-1) = 0: contrast -> mean luma (120 + 50) / 2, colour -> luma
    assert np.all(apply(Contrast(magnitude=-1.0, **fixed), img) == 85)
    assert apply(ColorTransform(magnitude=-1.0, **fixed), img)[0, 0].tolist() == [120] * 3
    assert np.array_equal(apply(ColorTransform(magnitude=0.0), img), img)
    # a flat image has nothing to sharpen; a lone bright pixel gets brighter
    flat = np.full((5, 5, 3), 90, np.uint8)
    assert np.array_equal(apply(Sharpness(magnitude=0.9), flat), flat)
    dot = flat.copy()
    dot[2, 2] = 150
    sharper = apply(Sharpness(magnitude=0.5, **fixed), dot)
    # smoothed centre = (8 * 90 + 5 * 150) / 13 = 113.08; 113.08 + 1.5 * (150 - 113.08)
    assert sharper[2, 2, 0] == 168 and sharper[0, 0, 0] == 90


def test_cutout_fills_a_square():
    img = np.zeros((20, 20, 3), np.uint8)
    out = apply(Cutout(shape=6, pad_val=9), img, seed=3)
    mask = out[..., 0] == 9
    ys, xs = np.nonzero(mask)
    assert mask.sum() == (ys.ptp() + 1) * (xs.ptp() + 1) and mask.sum() <= 36
