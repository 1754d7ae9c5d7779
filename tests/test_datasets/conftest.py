"""Real image files, written by the tests, for the dataset and transform tests."""
import os

import cv2
import numpy as np
import pytest
from PIL import Image


def natural_image(width, height, seed=0):
    """Smooth colour blobs with mild noise (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    img += rng.integers(-8, 9, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope='session')
def image_files(tmp_path_factory):
    """Paths of real image files of every kind the loader must handle."""
    root = tmp_path_factory.mktemp('images')
    files = {}
    bgr = natural_image(500, 375)
    files['jpeg'] = str(root / 'photo_500x375.jpg')
    cv2.imwrite(files['jpeg'], bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    files['png'] = str(root / 'color.png')
    cv2.imwrite(files['png'], bgr[:60, :80])
    files['gray'] = str(root / 'gray.png')
    cv2.imwrite(files['gray'], bgr[:60, :80, 1])
    rgba = np.dstack([bgr[:60, :80], np.full((60, 80), 37, np.uint8)])
    files['rgba'] = str(root / 'rgba.png')
    cv2.imwrite(files['rgba'], rgba)  # OpenCV writes BGRA
    files['png16'] = str(root / 'deep16.png')
    cv2.imwrite(files['png16'], bgr[:60, :80].astype(np.uint16) * 257 + 100)
    # EXIF orientation 6: the stored 40x20 pixels are shown rotated 90 degrees clockwise
    files['exif'] = str(root / 'exif_rot.jpg')
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # left half red (RGB)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(files['exif'], exif=exif, quality=95)
    files['corrupt'] = str(root / 'corrupt.jpg')
    with open(files['corrupt'], 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0 this is not really a JPEG ' * 20)
    files['truncated'] = str(root / 'truncated.jpg')
    with open(files['jpeg'], 'rb') as f:
        data = f.read()
    with open(files['truncated'], 'wb') as f:
        f.write(data[:len(data) // 2])
    # bytes zeroed in the middle of the scan: OpenCV decodes it (garbage pixels
    # from there on) and libjpeg only prints "Corrupt JPEG data" on stderr
    files['corrupt_middle'] = str(root / 'corrupt_middle.jpg')
    middle = len(data) // 2
    with open(files['corrupt_middle'], 'wb') as f:
        f.write(data[:middle] + bytes(500) + data[middle + 500:])
    files['not_image'] = str(root / 'notes.jpg')
    with open(files['not_image'], 'w') as f:
        f.write('these are my notes, not a picture\n')
    files['empty'] = str(root / 'empty.png')
    open(files['empty'], 'wb').close()
    files['bgr'] = bgr
    return files


def write_class_folders(root, counts, size=(12, 10), ext='.png', seed=0):
    """``root/<class>/<i>.png`` for ``counts = {'class': n}``; returns the paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for name, n in counts.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(n):
            img = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            path = os.path.join(root, name, f'{i:03d}{ext}')
            cv2.imwrite(path, img)
            paths.append(path)
    return paths


@pytest.fixture(scope='session')
def write_folders():
    """The ``write_class_folders`` helper, as a fixture."""
    return write_class_folders


@pytest.fixture
def class_folder_root(tmp_path):
    """A small CustomDataset in the class-folder layout: 3 classes, 23 images."""
    write_class_folders(str(tmp_path / 'train'), {'cat': 8, 'bird': 7, 'dog': 8})
    return str(tmp_path)
