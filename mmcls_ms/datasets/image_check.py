"""Find image files that training would read wrongly or not at all.

``read_image`` (OpenCV) refuses a file it cannot decode, but it decodes some
damaged files without a word: a JPEG corrupted in the middle gives garbage
pixels, and a truncated JPEG or PNG gives grey or black rows.  libjpeg and
libpng do notice; they print a warning on the process's standard error (fd 2,
below Python), which this module captures.  A file passes only when it
decodes with no such warning.

The capture redirects fd 2 of the whole process while one image decodes, so
call :func:`find_image_problem` from one thread at a time (e.g. one per worker
process, as ``tools/misc/verify_dataset.py`` does).
"""
from typing import Optional, Tuple

import cv2
import numpy as np

from mmcls_ms.utils.native_stderr import native_stderr
from .transforms.loading import png_chunk_problem

# decoder messages that say nothing about the pixels (a colour-profile note
# that libpng prints for many valid PNGs)
HARMLESS_WARNINGS = ('iCCP:',)

def truncation_problem(head: bytes, tail: bytes) -> Optional[str]:
    """A reason when a JPEG or PNG lacks its end marker (``head``/``tail``: the
    first 16 and last 64 bytes of the file), else None.

    Example:
        >>> truncation_problem(b'\\xff\\xd8\\xff\\xe0', b'...no end...')
        'truncated JPEG (no end-of-image marker)'
    """
    if head.startswith(b'\xff\xd8'):  # JPEG: must end with EOI (trailing padding is allowed)
        if b'\xff\xd9' not in tail:
            return 'truncated JPEG (no end-of-image marker)'
    elif head.startswith(b'\x89PNG\r\n\x1a\n'):
        if b'IEND' not in tail:
            return 'truncated PNG (no IEND chunk)'
    return None


def decode_with_warnings(buf: np.ndarray) -> Tuple[Optional[np.ndarray], str]:
    """``cv2.imdecode(buf)`` and the text the decoder printed on fd 2 meanwhile.

    Example:
        >>> img, printed = decode_with_warnings(np.fromfile('a.jpg', np.uint8))  # doctest: +SKIP
        >>> printed  # doctest: +SKIP
        'Corrupt JPEG data: premature end of data segment\\n'
    """
    with native_stderr() as printed:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img, printed[0]


def find_image_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a sound image (one line), or None when it is.

    Missing, empty, truncated, undecodable, and decoded-with-a-warning files
    are problems.

    Example:
        >>> find_image_problem('data/train/cat/001.jpg')  # doctest: +SKIP
        'decoder warning: Corrupt JPEG data: premature end of data segment'
    """
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        return f'cannot read the file: {err}'
    if buf.size == 0:
        return 'empty file (0 bytes)'
    problem = (truncation_problem(buf[:16].tobytes(), buf[-64:].tobytes())
               or png_chunk_problem(buf))
    if problem:
        return problem
    img, printed = decode_with_warnings(buf)
    if img is None:
        return 'not a decodable image (corrupt, or a format OpenCV does not read)'
    if min(img.shape[:2]) < 1:
        return f'empty image of shape {img.shape}'
    warnings = [line.strip() for line in printed.splitlines() if line.strip()
                and not any(h in line for h in HARMLESS_WARNINGS)]
    if warnings:
        return 'decoder warning: ' + '; '.join(warnings)
    return None
