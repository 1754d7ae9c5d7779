"""``find_image_problem``: the strict check behind tools/misc/verify_dataset.py."""
import os
import time

import cv2
import numpy as np
import pytest

from mmcls_ms.datasets.image_check import decode_with_warnings, find_image_problem
from mmcls_ms.datasets.transforms.loading import ImageReadError, read_image


@pytest.mark.parametrize('kind', ['jpeg', 'png', 'gray', 'rgba', 'png16', 'exif'])
def test_sound_images_pass(image_files, kind):
    assert find_image_problem(image_files[kind]) is None


@pytest.mark.parametrize('kind, reason', [
    ('corrupt_middle', 'decoder warning: Corrupt JPEG data'),
    ('truncated', 'truncated JPEG'),
    ('empty', 'empty file'),
    ('not_image', 'not a decodable image'),
    ('corrupt', 'truncated JPEG'),
])
def test_damaged_files_are_found(image_files, kind, reason):
    assert reason in find_image_problem(image_files[kind])


def test_a_middle_corrupted_jpeg_decodes_silently_without_the_check(image_files):
    # the reason for the check: OpenCV returns an image of the right size
    img = cv2.imread(image_files['corrupt_middle'])
    assert img is not None and img.shape == image_files['bgr'].shape


def test_truncated_png_and_missing_file(tmp_path, image_files):
    data = open(image_files['png'], 'rb').read()
    cut = tmp_path / 'cut.png'
    cut.write_bytes(data[:len(data) - 20])
    assert 'truncated PNG' in find_image_problem(str(cut))
    assert 'cannot read the file' in find_image_problem(str(tmp_path / 'nope.jpg'))


def test_a_png_chunk_longer_than_the_file_is_refused_at_once(tmp_path):
    # OpenCV believes the length: it spent seconds on such a 48-byte file
    path = tmp_path / 'liar.png'
    data = cv2.imencode('.png', np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    path.write_bytes(data[:8] + b'x' * 40 + data[-12:])
    start = time.perf_counter()
    assert 'corrupt PNG: a chunk at byte 8 claims' in find_image_problem(str(path))
    with pytest.raises(ImageReadError, match='corrupt PNG'):
        read_image(str(path))
    assert time.perf_counter() - start < 1


def test_the_capture_restores_stderr(image_files, capfd):
    buf = np.fromfile(image_files['corrupt_middle'], np.uint8)
    img, printed = decode_with_warnings(buf)
    assert img is not None and 'Corrupt JPEG data' in printed
    # the decoder's text went to the capture, and fd 2 works as before afterwards
    os.write(2, b'after\n')
    assert capfd.readouterr().err == 'after\n'
