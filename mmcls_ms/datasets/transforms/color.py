"""Photometric transforms: ``ColorJitter``."""
from typing import Sequence, Union

import cv2
import numpy as np

from mmcls_ms.registry import TRANSFORMS
from .image_ops import rng_of


def blend(img: np.ndarray, degenerate: np.ndarray, factor: float) -> np.ndarray:
    """``degenerate + factor * (img - degenerate)``, rounded and clipped to uint8.

    factor 0 gives ``degenerate``, 1 gives ``img``, > 1 extrapolates (PIL's
    ImageEnhance convention).
    """
    out = degenerate + factor * (img.astype(np.float32) - degenerate)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def grayscale_bgr(img: np.ndarray) -> np.ndarray:
    """Luma (ITU-R 601) of a BGR image, repeated to 3 channels, as float32."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return np.repeat(gray[..., None], 3, axis=2)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return blend(img, np.float32(0), factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    mean = np.float32(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean())
    return blend(img, mean, factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    return blend(img, grayscale_bgr(img), factor)


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` turns (-0.5..0.5)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)  # hue in 0..255
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(round(shift * 256))) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


def _factor_range(value, name, center=1.0, bound=(0, float('inf'))):
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f'ColorJitter: {name} must be >= 0, got {value}.')
        lo, hi = center - value, center + value
    else:
        lo, hi = value
    lo, hi = max(lo, bound[0]), min(hi, bound[1])
    if lo > hi:
        raise ValueError(f'ColorJitter: {name} range {value!r} is empty.')
    return None if lo == hi == center else (lo, hi)


@TRANSFORMS.register_module()
class ColorJitter:
    """Randomly change brightness, contrast, saturation and hue, in random order.

    Args:
        brightness, contrast, saturation (float | tuple): a factor is drawn
            from ``[max(0, 1 - v), 1 + v]`` (or the given (min, max)).
        hue (float | tuple): a hue shift in turns from ``[-v, v]``, v <= 0.5.
        backend: accepted for mmpretrain configs (the ops are numpy + OpenCV).

    Example:
        >>> jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
        >>> out = jitter(dict(img=np.full((4, 4, 3), 100, np.uint8),
        ...                   rng=np.random.default_rng(0)))
    """

    def __init__(self, brightness: Union[float, Sequence[float]] = 0.0,
                 contrast: Union[float, Sequence[float]] = 0.0,
                 saturation: Union[float, Sequence[float]] = 0.0,
                 hue: Union[float, Sequence[float]] = 0.0, backend: str = 'pillow'):
        self.brightness = _factor_range(brightness, 'brightness')
        self.contrast = _factor_range(contrast, 'contrast')
        self.saturation = _factor_range(saturation, 'saturation')
        self.hue = _factor_range(hue, 'hue', center=0.0, bound=(-0.5, 0.5))

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        img = results['img']
        ops = [(adjust_brightness, self.brightness), (adjust_contrast, self.contrast),
               (adjust_saturation, self.saturation), (adjust_hue, self.hue)]
        for i in rng.permutation(len(ops)):
            fn, bounds = ops[i]
            if bounds is not None:
                img = fn(img, rng.uniform(*bounds))
        results['img'] = img
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, '
                f'saturation={self.saturation}, hue={self.hue})')
