import cv2
import numpy as np
import pytest

from mmcls_ms.datasets.transforms import ImageReadError, LoadImageFromFile


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(img_path=path))


def test_jpeg_is_hwc_uint8_bgr(image_files):
    out = load(image_files['jpeg'])
    assert out['img'].shape == (375, 500, 3) and out['img'].dtype == np.uint8
    assert out['img_shape'] == (375, 500) and out['ori_shape'] == (375, 500)
    # quality-95 JPEG stays close to the BGR source, channel order included
    diff = np.abs(out['img'].astype(int) - image_files['bgr'].astype(int)).mean()
    swapped = np.abs(out['img'].astype(int) - image_files['bgr'][..., ::-1].astype(int)).mean()
    assert diff < 6 and swapped > 4 * diff


def test_png_is_exact(image_files):
    assert np.array_equal(load(image_files['png'])['img'], image_files['bgr'][:60, :80])


def test_grayscale_becomes_three_equal_channels(image_files):
    img = load(image_files['gray'])['img']
    assert img.shape == (60, 80, 3)
    gray = image_files['bgr'][:60, :80, 1]
    for c in range(3):
        assert np.array_equal(img[..., c], gray)
    assert load(image_files['gray'], color_type='grayscale')['img'].shape == (60, 80, 1)


def test_rgba_drops_alpha(image_files):
    img = load(image_files['rgba'])['img']
    assert img.shape == (60, 80, 3)
    assert np.array_equal(img, image_files['bgr'][:60, :80])


def test_16bit_png_is_scaled_to_8bit(image_files):
    img = load(image_files['png16'])['img']
    assert img.dtype == np.uint8 and img.shape == (60, 80, 3)
    expected = ((image_files['bgr'][:60, :80].astype(np.uint32) * 257 + 100) >> 8)
    assert np.array_equal(img, expected.astype(np.uint8))


def test_exif_orientation_is_applied(image_files):
    img = load(image_files['exif'])['img']
    # stored 20x40 (h x w) with the left half red; orientation 6 turns it into
    # 40x20 with the red half on top
    assert img.shape == (40, 20, 3)
    top, bottom = img[:18].reshape(-1, 3).mean(0), img[22:].reshape(-1, 3).mean(0)
    assert top[2] > 200 and top[0] < 60  # red in BGR
    assert bottom.max() < 60


@pytest.mark.parametrize('kind', ['corrupt', 'empty'])
def test_bad_file_error_names_the_file(image_files, kind):
    with pytest.raises(ImageReadError, match=image_files[kind].split('/')[-1]):
        load(image_files[kind])


def test_missing_file_error_names_the_file(tmp_path):
    path = str(tmp_path / 'nope.jpg')
    with pytest.raises(ImageReadError, match='nope.jpg'):
        load(path)
    assert LoadImageFromFile(ignore_empty=True)(dict(img_path=path)) is None


def test_to_float32(image_files):
    assert load(image_files['png'], to_float32=True)['img'].dtype == np.float32


def test_matches_cv2_imread(image_files):
    assert np.array_equal(load(image_files['jpeg'])['img'], cv2.imread(image_files['jpeg']))


@pytest.mark.parametrize('kind', ['png', 'gray', 'rgba', 'png16', 'exif'])
def test_pillow_backend_agrees_with_opencv(image_files, kind):
    cv = load(image_files[kind])['img']
    pil = load(image_files[kind], imdecode_backend='pillow')['img']
    assert pil.shape == cv.shape and pil.dtype == np.uint8
    assert np.abs(pil.astype(int) - cv.astype(int)).max() <= (2 if kind == 'exif' else 0)


def test_pillow_backend_corrupt_file(image_files):
    with pytest.raises(ImageReadError, match='corrupt.jpg'):
        load(image_files['corrupt'], imdecode_backend='pillow')
