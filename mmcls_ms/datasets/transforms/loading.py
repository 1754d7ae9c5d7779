"""``LoadImageFromFile``: read an image file into an HxWx3 uint8 BGR array."""
import io
import os
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps

from mmcls_ms.registry import TRANSFORMS


class ImageReadError(OSError, ValueError):
    """An image file that is missing, unreadable or not a decodable image.

    Also a ``ValueError``: it is bad input, so the command-line tools end
    with its one-line message rather than a traceback.
    """


def _decode_pillow(buf, path, color_type):
    """Decode with Pillow (EXIF orientation applied, alpha dropped), to BGR."""
    try:
        with Image.open(io.BytesIO(buf.tobytes())) as pil:
            pil = ImageOps.exif_transpose(pil)
            if pil.mode in ('I;16', 'I;16B', 'I;16L', 'I'):  # 16/32-bit gray: keep the top byte
                arr = np.asarray(pil).astype(np.uint32)
                gray = (arr >> 8).clip(0, 255).astype(np.uint8)
                pil = Image.fromarray(gray)
            pil = pil.convert('L' if color_type == 'grayscale' else 'RGB')
            arr = np.asarray(pil)
    except Exception as err:  # PIL raises many types for bad files
        raise ImageReadError(f'Cannot decode image file {path!r} with Pillow: {err}') from err
    return arr if color_type == 'grayscale' else np.ascontiguousarray(arr[..., ::-1])


PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def png_chunk_problem(buf: np.ndarray) -> Optional[str]:
    """A reason when a PNG chunk claims more bytes than the file holds, else None.

    OpenCV believes such a length: a few damaged bytes make it spend seconds
    and gigabytes before it gives up, so this is checked first.

    Example:
        >>> png_chunk_problem(np.frombuffer(PNG_SIGNATURE + b'xxxxIHDR', np.uint8))
        'corrupt PNG: a chunk at byte 8 claims 2021161080 bytes, the file has 8 more'
    """
    data = memoryview(buf)
    if bytes(data[:8]) != PNG_SIGNATURE:
        return None
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], 'big')
        if length > len(data) - pos - 12:
            return (f'corrupt PNG: a chunk at byte {pos} claims {length} bytes, the file has '
                    f'{len(data) - pos} more')
        if bytes(data[pos + 4:pos + 8]) == b'IEND':
            break
        pos += length + 12  # length, type, data, CRC
    return None


def read_image(path: str, color_type: str = 'color', backend: str = 'cv2') -> np.ndarray:
    """Decode ``path`` with OpenCV; always returns HxWx3 uint8 BGR for 'color'.

    ``cv2.IMREAD_COLOR`` already does what training needs: grayscale becomes
    3 channels, the alpha channel of RGBA is dropped, 16-bit images are
    scaled to 8 bits (value >> 8) and the EXIF orientation of JPEGs is applied.

    Example:
        >>> img = read_image('demo/bird.JPEG')  # doctest: +SKIP
        >>> img.shape[2], img.dtype             # doctest: +SKIP
        (3, dtype('uint8'))
    """
    try:
        # np.fromfile + imdecode: works for non-ASCII paths, and lets us tell
        # "cannot read the file" from "cannot decode it".
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise ImageReadError(f'Cannot read image file {path!r}: {err}') from err
    return decode_image(buf, path, color_type, backend)


def decode_image(buf: np.ndarray, name: str, color_type: str = 'color',
                 backend: str = 'cv2') -> np.ndarray:
    """Decode the bytes of an image file (``name`` is only for the messages);
    the same checks and result as :func:`read_image`.

    Example:
        >>> ok, png = cv2.imencode('.png', np.zeros((4, 6, 3), np.uint8))
        >>> decode_image(png, 'black.png').shape
        (4, 6, 3)
    """
    if buf.size == 0:
        raise ImageReadError(f'Image file {name!r} is empty (0 bytes).')
    problem = png_chunk_problem(buf)
    if problem:
        raise ImageReadError(f'Cannot decode image file {name!r}: {problem}.')
    if backend == 'pillow':
        img = _decode_pillow(buf, name, color_type)
        return img[..., None] if img.ndim == 2 else img
    flag = cv2.IMREAD_GRAYSCALE if color_type == 'grayscale' else cv2.IMREAD_COLOR
    img = cv2.imdecode(buf, flag)
    if img is None:
        raise ImageReadError(
            f'Cannot decode image file {name!r} ({buf.size} bytes): it is corrupt or not an '
            'image format OpenCV reads.')
    if img.ndim == 2:
        img = img[..., None]
    return img


@TRANSFORMS.register_module()
class LoadImageFromFile:
    """Load ``results['img_path']`` into ``results['img']`` (HxWx3 uint8 BGR).

    Args:
        to_float32 (bool): return float32 instead of uint8 (default False:
            pixels travel as uint8; the data preprocessor normalises).
        color_type (str): 'color' (default, 3 channels) or 'grayscale'
            (HxWx1).
        ignore_empty (bool): return None instead of raising for a missing file.
        imdecode_backend (str): 'cv2' (default) or 'pillow'.
        file_client_args, backend_args: accepted for mmpretrain configs; only
            local files are read.

    Example:
        >>> LoadImageFromFile()(dict(img_path='a.jpg'))['img'].shape  # doctest: +SKIP
        (375, 500, 3)
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 ignore_empty: bool = False, imdecode_backend: str = 'cv2',
                 file_client_args: Optional[dict] = None, backend_args: Optional[dict] = None):
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"LoadImageFromFile: color_type must be 'color' or 'grayscale', "
                             f'got {color_type!r}.')
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(f'LoadImageFromFile: unknown imdecode_backend {imdecode_backend!r}.')
        self.to_float32 = to_float32
        self.color_type = color_type
        self.ignore_empty = ignore_empty
        self.imdecode_backend = imdecode_backend

    def __call__(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        if self.ignore_empty and not os.path.exists(path):
            return None
        img = read_image(path, self.color_type, self.imdecode_backend)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, imdecode_backend={self.imdecode_backend!r})')
