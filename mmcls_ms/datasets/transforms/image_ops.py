"""Shared helpers of the transforms: resize, crop, interpolation names, repr.

Images are HxWxC uint8 numpy arrays in BGR order, as ``LoadImageFromFile``
gives them.  The names and backends follow mmcv/mmpretrain (``backend='cv2'``
or ``'pillow'``, ``interpolation='bilinear'``...).
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image

CV2_INTERPOLATION = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}
PILLOW_INTERPOLATION = {
    'nearest': Image.NEAREST,
    'bilinear': Image.BILINEAR,
    'bicubic': Image.BICUBIC,
    'box': Image.BOX,
    'lanczos': Image.LANCZOS,
    'hamming': Image.HAMMING,
}
BACKENDS = ('cv2', 'pillow')


def check_backend(backend: str, interpolation: str, owner: str) -> None:
    """Raise a clear error for an unknown backend or interpolation name."""
    if backend not in BACKENDS:
        raise ValueError(f'{owner}: backend must be one of {BACKENDS}, got {backend!r}.')
    table = CV2_INTERPOLATION if backend == 'cv2' else PILLOW_INTERPOLATION
    if interpolation not in table:
        raise ValueError(f'{owner}: interpolation {interpolation!r} is not available with '
                         f'backend {backend!r}; choose one of {sorted(table)}.')


def imresize(img: np.ndarray, size: Tuple[int, int], interpolation: str = 'bilinear',
             backend: str = 'cv2') -> np.ndarray:
    """Resize ``img`` to ``size=(width, height)``.

    Example:
        >>> imresize(np.zeros((10, 20, 3), np.uint8), (5, 4)).shape
        (4, 5, 3)
    """
    width, height = int(size[0]), int(size[1])
    if backend == 'pillow':
        # Pillow resamples each band the same way, so BGR order does not matter.
        squeeze = img.ndim == 3 and img.shape[2] == 1
        pil = Image.fromarray(img[..., 0] if squeeze else img)
        out = np.asarray(pil.resize((width, height), PILLOW_INTERPOLATION[interpolation]))
        return out[..., None] if squeeze else out
    out = cv2.resize(img, (width, height), interpolation=CV2_INTERPOLATION[interpolation])
    if img.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel axis
        out = out[..., None]
    return out


def imcrop(img: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Crop a ``height x width`` window whose top-left corner is ``(top, left)``."""
    return img[top:top + height, left:left + width]


def rng_of(results: dict) -> np.random.Generator:
    """The per-sample generator the dataset put in ``results['rng']``.

    Without one (a transform called by hand), a fresh unseeded generator is
    used, so such calls are random but not reproducible.
    """
    rng = results.get('rng')
    return rng if rng is not None else np.random.default_rng()


def to_size_pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """int -> (size, size); (w, h) stays; anything else is a clear error."""
    if isinstance(size, int):
        pair = (size, size)
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        pair = tuple(int(s) for s in size)
    else:
        raise TypeError(f'{name} must be an int or a (width, height) pair, got {size!r}.')
    if min(pair) <= 0:
        raise ValueError(f'{name} must be positive, got {size!r}.')
    return pair


def fields_repr(transform: object, *names: str) -> str:
    """``Name(a=..., b=...)`` from the transform's attributes, for ``__repr__``.

    Example:
        >>> class Flip:
        ...     prob, direction = 0.5, 'horizontal'
        >>> fields_repr(Flip(), 'prob', 'direction')
        "Flip(prob=0.5, direction='horizontal')"
    """
    fields = ', '.join(f'{name}={getattr(transform, name)!r}' for name in names)
    return f'{type(transform).__name__}({fields})'
