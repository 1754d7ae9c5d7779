import math

import cv2
import numpy as np
import pytest
from PIL import Image

from mmcls_ms.datasets.transforms import (CenterCrop, Compose, LoadImageFromFile, RandomCrop,
                                          RandomFlip, RandomResizedCrop, Resize, ResizeEdge)


def grid_image(h, w):
    """Pixel (y, x) = (y, x, y + x) mod 256: every crop offset is visible."""
    y, x = np.mgrid[:h, :w]
    return np.stack([y % 256, x % 256, (y + x) % 256], axis=2).astype(np.uint8)


def test_resize_edge_then_center_crop_on_500x375_jpeg(image_files):
    pipeline = Compose([dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=342),
                        dict(type='CenterCrop', crop_size=299)])
    out = pipeline(dict(img_path=image_files['jpeg']))
    assert out['img'].shape == (299, 299, 3)
    # by hand: the short edge 375 -> 342, the long one int(342 * 500 / 375) = 456;
    # crop offsets round((342 - 299) / 2) = round(21.5) = 22 and round(78.5) = 78
    decoded = cv2.imread(image_files['jpeg'])
    resized = cv2.resize(decoded, (456, 342), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out['img'], resized[22:22 + 299, 78:78 + 299])
    assert out['crop_bbox'] == (78, 22, 377, 321)


def test_resize_edge_sizes():
    img = np.zeros((375, 500, 3), np.uint8)
    assert ResizeEdge(342)(dict(img=img))['img'].shape == (342, 456, 3)
    assert ResizeEdge(100, edge='long')(dict(img=img))['img'].shape == (75, 100, 3)
    assert ResizeEdge(50, edge='width')(dict(img=img))['img'].shape == (37, 50, 3)
    assert ResizeEdge(50, edge='height')(dict(img=img))['img'].shape == (50, 66, 3)
    tall = np.zeros((500, 375, 3), np.uint8)
    assert ResizeEdge(342)(dict(img=tall))['img'].shape == (456, 342, 3)


def test_resize_edge_pillow_backend_matches_pillow():
    img = grid_image(30, 40)
    out = ResizeEdge(20, backend='pillow')(dict(img=img))['img']
    expected = np.asarray(Image.fromarray(img).resize((26, 20), Image.BILINEAR))
    assert out.shape == (20, 26, 3) and np.array_equal(out, expected)


def test_resize_fixed_keep_ratio_and_factor():
    img = grid_image(10, 20)
    out = Resize(scale=(40, 30))(dict(img=img))
    assert out['img'].shape == (30, 40, 3) and out['scale_factor'] == (2.0, 3.0)
    assert Resize(scale=(40, 30), keep_ratio=True)(dict(img=img))['img'].shape == (20, 40, 3)
    assert Resize(scale_factor=0.5)(dict(img=img))['img'].shape == (5, 10, 3)
    # nearest upscaling by 2 repeats each pixel twice
    near = Resize(scale=(40, 20), interpolation='nearest')(dict(img=img))['img']
    assert np.array_equal(near, img.repeat(2, 0).repeat(2, 1))
    with pytest.raises(ValueError, match='exactly one'):
        Resize()
    with pytest.raises(ValueError, match='interpolation'):
        Resize(scale=3, interpolation='hamming')  # pillow only


def test_center_crop_offsets_by_hand():
    img = grid_image(7, 10)
    out = CenterCrop(crop_size=4)(dict(img=img))['img']
    # round((7 - 4) / 2) = round(1.5) = 2, round((10 - 4) / 2) = 3
    assert np.array_equal(out[..., 0], np.repeat(np.arange(2, 6)[:, None], 4, 1))
    assert np.array_equal(out[..., 1], np.repeat(np.arange(3, 7)[None], 4, 0))
    rect = CenterCrop(crop_size=(6, 3))(dict(img=img))['img']  # (w, h)
    assert rect.shape == (3, 6, 3) and rect[0, 0, 0] == 2 and rect[0, 0, 1] == 2
    # larger than the image: clipped, or padded with auto_pad
    assert CenterCrop(20)(dict(img=img))['img'].shape == (7, 10, 3)
    padded = CenterCrop(12, auto_pad=True)(dict(img=img))['img']
    assert padded.shape == (12, 12, 3) and padded[-1, -1].tolist() == [0, 0, 0]


def test_random_resized_crop_output_and_pixels():
    img = grid_image(375, 500)
    rrc = RandomResizedCrop(scale=299)
    out = rrc(dict(img=img, rng=np.random.default_rng(3)))
    assert out['img'].shape == (299, 299, 3) and out['img'].dtype == np.uint8
    left, top, right, bottom = out['crop_bbox']
    expected = cv2.resize(img[top:bottom, left:right], (299, 299), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out['img'], expected)
    # (h, w) scale as in mmpretrain
    assert RandomResizedCrop(scale=(20, 30))(dict(img=img))['img'].shape == (20, 30, 3)


def test_random_resized_crop_statistics_stay_in_range():
    rrc = RandomResizedCrop(scale=224, crop_ratio_range=(0.08, 1.0),
                            aspect_ratio_range=(3 / 4, 4 / 3))
    rng = np.random.default_rng(0)
    height, width = 375, 500
    areas, ratios = [], []
    for _ in range(3000):
        top, left, ch, cw = rrc.crop_params(height, width, rng)
        assert 0 <= top and top + ch <= height and 0 <= left and left + cw <= width
        areas.append(ch * cw / (height * width))
        ratios.append(cw / ch)
    areas, ratios = np.array(areas), np.array(ratios)
    # rounding to whole pixels moves area and ratio a little off the drawn values
    assert areas.min() >= 0.08 * 0.95 and areas.max() <= 1.0
    assert ratios.min() >= 0.75 * 0.97 and ratios.max() <= 4 / 3 * 1.03
    # the draws span the ranges: log-uniform ratio -> median near 1
    assert areas.min() < 0.1 and areas.max() > 0.9
    assert abs(np.median(np.log(ratios))) < 0.05
    assert ratios.min() < 0.8 and ratios.max() > 1.25
    # fixed area and ratio: by hand, sqrt(0.25 * 375 * 500) = 216.5 -> 217 x 217
    fixed = RandomResizedCrop(scale=10, crop_ratio_range=(0.25, 0.25), aspect_ratio_range=(1, 1))
    for _ in range(50):
        top, left, ch, cw = fixed.crop_params(height, width, rng)
        assert (ch, cw) == (217, 217) and top <= 375 - 217 and left <= 500 - 217


def test_random_resized_crop_fallback_is_centered():
    # no attempts: fall back to the widest centred crop with an allowed ratio
    rrc = RandomResizedCrop(scale=10, max_attempts=0)
    assert rrc.crop_params(100, 400, np.random.default_rng(0)) == (0, 133, 100, 133)
    assert rrc.crop_params(400, 100, np.random.default_rng(0)) == (133, 0, 133, 100)
    assert rrc.crop_params(100, 120, np.random.default_rng(0)) == (0, 0, 100, 120)


def test_random_resized_crop_rejects_bad_args():
    with pytest.raises(ValueError, match='crop_ratio_range'):
        RandomResizedCrop(10, crop_ratio_range=(0.5, 1.5))
    with pytest.raises(ValueError, match='aspect_ratio_range'):
        RandomResizedCrop(10, aspect_ratio_range=(2, 1))
    with pytest.raises(ValueError, match='backend'):
        RandomResizedCrop(10, backend='turbo')


def test_random_resized_crop_pillow_backend():
    img = grid_image(50, 60)
    out = RandomResizedCrop(scale=16, backend='pillow', interpolation='bicubic')(
        dict(img=img, rng=np.random.default_rng(1)))
    left, top, right, bottom = out['crop_bbox']
    expected = np.asarray(Image.fromarray(img[top:bottom, left:right]).resize(
        (16, 16), Image.BICUBIC))
    assert np.array_equal(out['img'], expected)


def test_same_rng_same_crop():
    img = grid_image(60, 80)
    rrc = RandomResizedCrop(scale=32)
    a = rrc(dict(img=img, rng=np.random.default_rng(7)))['img']
    b = rrc(dict(img=img, rng=np.random.default_rng(7)))['img']
    c = rrc(dict(img=img, rng=np.random.default_rng(8)))['img']
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_random_flip_pixels_and_frequency():
    img = grid_image(3, 4)
    out = RandomFlip(prob=1.0)(dict(img=img))
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    assert np.array_equal(out['img'], img[:, ::-1])
    assert np.array_equal(RandomFlip(1.0, 'vertical')(dict(img=img))['img'], img[::-1])
    assert np.array_equal(RandomFlip(1.0, 'diagonal')(dict(img=img))['img'], img[::-1, ::-1])
    assert not RandomFlip(prob=0.0)(dict(img=img))['flip']
    rng = np.random.default_rng(0)
    flips = [RandomFlip(prob=0.5)(dict(img=img, rng=rng))['flip'] for _ in range(2000)]
    assert abs(np.mean(flips) - 0.5) < 0.04
    both = RandomFlip(prob=[0.3, 0.3], direction=['horizontal', 'vertical'])
    dirs = [both(dict(img=img, rng=rng))['flip_direction'] for _ in range(2000)]
    assert abs(dirs.count('vertical') / 2000 - 0.3) < 0.04
    assert abs(dirs.count(None) / 2000 - 0.4) < 0.04
    with pytest.raises(ValueError, match='direction'):
        RandomFlip(0.5, direction='sideways')


def test_random_crop_with_padding():
    img = grid_image(4, 4)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        out = RandomCrop(crop_size=4, padding=2)(dict(img=img, rng=rng))['img']
        assert out.shape == (4, 4, 3)
        seen.add(out.tobytes())
        # the crop is a window of the zero-padded 8x8 image
    assert len(seen) > 10
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)))
    windows = {padded[t:t + 4, x:x + 4].tobytes() for t in range(5) for x in range(5)}
    assert seen <= windows
    with pytest.raises(ValueError, match='pad_if_needed'):
        RandomCrop(8)(dict(img=img))
    assert RandomCrop(8, pad_if_needed=True)(dict(img=img))['img'].shape == (8, 8, 3)


def test_reprs_are_readable():
    text = repr(Compose([dict(type='RandomResizedCrop', scale=299),
                         dict(type='RandomFlip', prob=0.5)]))
    assert 'RandomResizedCrop(scale=(299, 299)' in text and 'RandomFlip(prob=0.5' in text
    assert math.isclose(RandomResizedCrop(5).aspect_ratio_range[1], 4 / 3)
    assert 'LoadImageFromFile' in repr(LoadImageFromFile())
