"""``ResizeMix`` (Qin et al., "ResizeMix: Mixing Data with Preserved Object
Information and True Labels", arXiv 2012.11101) with mmpretrain's semantics:
CutMix's box, but the whole image of the permuted batch is resized into it.
``lam ~ Beta(alpha, alpha)`` is mapped into ``[lam_min, lam_max]`` first, and
the resize follows ``torch.nn.functional.interpolate(align_corners=False)``.
"""
from typing import Optional, Sequence

import numpy as np

from mmcls_ms.registry import BATCH_AUGMENTS
from .cutmix import CutMix


def _nearest(size_in: int, size_out: int) -> np.ndarray:
    src = np.minimum(np.floor(np.arange(size_out) * (size_in / size_out)), size_in - 1)
    matrix = np.zeros((size_out, size_in))
    matrix[np.arange(size_out), src.astype(np.int64)] = 1
    return matrix


def _bilinear(size_in: int, size_out: int) -> np.ndarray:
    src = np.maximum((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5, 0)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    frac = src - low
    matrix = np.zeros((size_out, size_in))
    np.add.at(matrix, (np.arange(size_out), low), 1 - frac)
    np.add.at(matrix, (np.arange(size_out), high), frac)
    return matrix


def _bicubic(size_in: int, size_out: int, a: float = -0.75) -> np.ndarray:
    src = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    base = np.floor(src).astype(np.int64)
    t = src - base
    # Keys' cubic convolution kernel at the distances to the 4 nearest pixels
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1  # noqa: E731 (|d| <= 1)
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # noqa: E731 (1 < |d| < 2)
    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    matrix = np.zeros((size_out, size_in))
    for k, weight in enumerate(weights):
        np.add.at(matrix, (np.arange(size_out), np.clip(base + k - 1, 0, size_in - 1)), weight)
    return matrix


def _area(size_in: int, size_out: int) -> np.ndarray:  # adaptive average pooling
    matrix = np.zeros((size_out, size_in))
    for i in range(size_out):
        start, end = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1 / (end - start)
    return matrix


RESIZE_MATRICES = dict(nearest=_nearest, bilinear=_bilinear, bicubic=_bicubic, area=_area)


def resize_batch(images: np.ndarray, height: int, width: int,
                 interpolation: str = 'bilinear') -> np.ndarray:
    """Resize ``(N, C, H, W)`` images as ``F.interpolate(mode=interpolation,
    align_corners=False)`` does (no antialiasing), in float64.

    Example:
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
        >>> resize_batch(x, 4, 4)[0, 0, 0].tolist()
        [0.0, 0.25, 0.75, 1.0]
    """
    rows = RESIZE_MATRICES[interpolation](images.shape[-2], height)
    cols = RESIZE_MATRICES[interpolation](images.shape[-1], width)
    return np.einsum('hy,ncyx,wx->nchw', rows, images.astype(np.float64), cols)


@BATCH_AUGMENTS.register_module()
class ResizeMix(CutMix):
    """Paste another image of the batch, resized into a box.

    Args:
        alpha: Beta distribution parameter, > 0.
        lam_min, lam_max: ``lam = Beta(alpha, alpha) * (lam_max - lam_min) +
            lam_min``; the box side is ``sqrt(1 - lam)`` of the image side.
        interpolation: 'nearest', 'bilinear', 'bicubic' or 'area', as
            ``torch.nn.functional.interpolate``.
        prob: the chance that a batch is mixed at all (mmcls 0.x's argument;
            mmpretrain 1.x has none, which is ``prob=1.0``).
        cutmix_minmax, correct_lam: as :class:`CutMix`.

    Example:
        >>> x = np.zeros((2, 3, 8, 8), np.float32); x[1] = 1
        >>> mx, mt = ResizeMix(alpha=1.0)(x, np.eye(2, dtype=np.float32),
        ...                               np.random.default_rng(0))
        >>> bool(np.allclose(mt.sum(1), 1.0)), mx.shape
        (True, (2, 3, 8, 8))
    """

    def __init__(self, alpha: float, lam_min: float = 0.1, lam_max: float = 0.8,
                 interpolation: str = 'bilinear', prob: float = 1.0,
                 cutmix_minmax: Optional[Sequence[float]] = None, correct_lam: bool = True):
        super().__init__(alpha, cutmix_minmax=cutmix_minmax, correct_lam=correct_lam)
        if not 0 <= lam_min <= lam_max <= 1:
            raise ValueError(f'ResizeMix lam_min, lam_max must satisfy 0 <= lam_min <= '
                             f'lam_max <= 1, got {lam_min!r}, {lam_max!r}.')
        if interpolation not in RESIZE_MATRICES:
            raise ValueError(f'ResizeMix interpolation must be one of '
                             f'{sorted(RESIZE_MATRICES)}, got {interpolation!r}.')
        if not 0 <= prob <= 1:
            raise ValueError(f'ResizeMix prob must be in [0, 1], got {prob!r}.')
        self.lam_min, self.lam_max = float(lam_min), float(lam_max)
        self.interpolation = interpolation
        self.prob = float(prob)

    def __call__(self, inputs: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
        """Mixed ``(inputs, targets)``; float32 inputs ``(N, C, H, W)``, targets ``(N, K)``."""
        inputs = inputs.astype(np.float32, copy=True)
        if self.prob < 1 and rng.random() >= self.prob:
            return inputs, targets.astype(np.float32)
        lam = rng.beta(self.alpha, self.alpha) * (self.lam_max - self.lam_min) + self.lam_min
        index = rng.permutation(len(inputs))
        (y1, y2, x1, x2), lam = self.box(inputs.shape[-2], inputs.shape[-1], lam, rng)
        if y2 > y1 and x2 > x1:
            inputs[:, :, y1:y2, x1:x2] = resize_batch(inputs[index], y2 - y1, x2 - x1,
                                                      self.interpolation)
        targets = lam * targets + (1 - lam) * targets[index]
        return inputs, targets.astype(np.float32)

    def __repr__(self):
        return (f'ResizeMix(alpha={self.alpha}, lam_min={self.lam_min}, '
                f'lam_max={self.lam_max}, interpolation={self.interpolation!r}, '
                f'prob={self.prob}, cutmix_minmax={self.cutmix_minmax}, '
                f'correct_lam={self.correct_lam})')
