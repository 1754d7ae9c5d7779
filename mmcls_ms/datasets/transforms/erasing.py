"""``RandomErasing``: blank out a random rectangle (Zhong et al., 2017)."""
import math
from typing import Optional, Sequence, Union

import numpy as np

from mmcls_ms.registry import TRANSFORMS
from .image_ops import rng_of


@TRANSFORMS.register_module()
class RandomErasing:
    """Erase one random rectangle with probability ``erase_prob``.

    The rectangle's area is ``U(min_area_ratio, max_area_ratio) * H * W`` and
    its aspect ratio (h/w) log-uniform in ``aspect_range``, clipped to the image.

    Args:
        erase_prob (float): probability of erasing (MindCV's ``re_prob``;
            its Inception recipe uses 0.25).
        min_area_ratio, max_area_ratio (float): range of the erased fraction.
        aspect_range (tuple): range of the rectangle's h / w.
        mode (str): 'const' fills ``fill_color``; 'rand' fills noise (uniform
            0..255, or normal around ``fill_color`` with ``fill_std``).
        fill_color (tuple): BGR fill, 0-255.  MindCV erases normalised
            pixels with 0, i.e. the mean colour: ``fill_color=(103.53,
            116.28, 123.675)`` reproduces that on uint8 BGR images.
        fill_std (tuple, optional): std of the 'rand' fill.

    Example:
        >>> out = RandomErasing(erase_prob=1.0)(dict(
        ...     img=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0)))
        >>> bool((out['img'] == 128).any())
        True
    """

    def __init__(self, erase_prob: float = 0.5, min_area_ratio: float = 0.02,
                 max_area_ratio: float = 1 / 3,
                 aspect_range: Union[float, Sequence[float]] = (3 / 10, 10 / 3),
                 mode: str = 'const', fill_color: Union[int, Sequence[int]] = (128, 128, 128),
                 fill_std: Optional[Union[float, Sequence[float]]] = None):
        if not 0 <= erase_prob <= 1:
            raise ValueError(f'RandomErasing: erase_prob must be in [0, 1], got {erase_prob}.')
        if not 0 <= min_area_ratio <= max_area_ratio <= 1:
            raise ValueError('RandomErasing: need 0 <= min_area_ratio <= max_area_ratio <= 1.')
        if isinstance(aspect_range, (int, float)):
            aspect_range = (min(aspect_range, 1 / aspect_range),
                            max(aspect_range, 1 / aspect_range))
        if mode not in ('const', 'rand'):
            raise ValueError(f"RandomErasing: mode must be 'const' or 'rand', got {mode!r}.")
        if isinstance(fill_color, (int, float)):
            fill_color = (fill_color,) * 3
        self.erase_prob = erase_prob
        self.min_area_ratio = min_area_ratio
        self.max_area_ratio = max_area_ratio
        self.aspect_range = tuple(aspect_range)
        self.mode = mode
        self.fill_color = np.asarray(fill_color, np.float32)
        self.fill_std = None if fill_std is None else np.asarray(fill_std, np.float32)

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        if rng.random() >= self.erase_prob:
            return results
        img = results['img'].copy()
        height, width = img.shape[:2]
        area = height * width * rng.uniform(self.min_area_ratio, self.max_area_ratio)
        aspect = math.exp(rng.uniform(*np.log(self.aspect_range)))
        erase_h = min(int(round(math.sqrt(area * aspect))), height)
        erase_w = min(int(round(math.sqrt(area / aspect))), width)
        top = int(rng.integers(0, height - erase_h + 1))
        left = int(rng.integers(0, width - erase_w + 1))
        channels = img.shape[2]
        if self.mode == 'const':
            patch = np.broadcast_to(self.fill_color[:channels], (erase_h, erase_w, channels))
        elif self.fill_std is None:
            patch = rng.uniform(0, 256, (erase_h, erase_w, channels))
        else:
            patch = rng.normal(self.fill_color[:channels], self.fill_std[:channels],
                               (erase_h, erase_w, channels))
        img[top:top + erase_h, left:left + erase_w] = np.clip(np.rint(patch), 0, 255)
        results['img'] = img
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(erase_prob={self.erase_prob}, '
                f'area_ratio=({self.min_area_ratio}, {self.max_area_ratio:.3f}), '
                f'aspect_range={tuple(round(a, 3) for a in self.aspect_range)}, '
                f'mode={self.mode!r}, fill_color={tuple(self.fill_color.tolist())})')
