"""AutoAugment, RandAugment and their image operations (numpy + OpenCV).

Each operation is a transform with mmpretrain's name and arguments: it acts
with probability ``prob`` and, for signed operations, flips the sign of its
magnitude with probability ``random_negative_prob``.  The magnitude is given
directly (``magnitude=``, ``angle=``, ``thr=``, ``bits=``) or, for
RandAugment, as ``magnitude_range`` scaled by ``magnitude_level /
total_level`` (with optional Gaussian noise ``magnitude_std``).

Example:
    >>> aa = AutoAugment(policies='imagenet')
    >>> out = aa(dict(img=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0)))
"""
from abc import ABC, abstractmethod
import copy
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from mmcls_ms.registry import TRANSFORMS
from mmcls_ms.utils.arg_checks import check_interval
from .color import adjust_brightness, adjust_contrast, adjust_saturation, blend
from .image_ops import rng_of


class BaseAugTransform(ABC):
    """Probability, sign and magnitude handling shared by the operations."""
    SIGNED = False  # whether random_negative_prob applies

    def __init__(self, magnitude: Optional[float] = None,
                 magnitude_range: Optional[Sequence[float]] = None,
                 magnitude_level: Optional[float] = None, magnitude_std: Union[float, str] = 0.0,
                 total_level: float = 10, prob: float = 0.5, random_negative_prob: float = 0.5,
                 pad_val: Union[int, Sequence[int]] = 128, interpolation: str = 'nearest'):
        self.magnitude = magnitude
        self.magnitude_range = magnitude_range
        self.magnitude_level = magnitude_level
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        self.prob = check_interval(prob, '[0, 1]', f'{type(self).__name__}: prob')
        self.random_negative_prob = random_negative_prob
        self.pad_val = pad_val
        self.interpolation = interpolation

    def draw_magnitude(self, rng: np.random.Generator) -> float:
        if self.magnitude_range is None:
            magnitude = self.magnitude
        else:
            level = self.magnitude_level if self.magnitude_level is not None else self.total_level
            if self.magnitude_std == 'inf':
                level = rng.uniform(0, level)
            elif self.magnitude_std and self.magnitude_std > 0:
                level = rng.normal(level, self.magnitude_std)
            level = min(max(level, 0), self.total_level)
            lo, hi = self.magnitude_range
            magnitude = lo + (hi - lo) * level / self.total_level
        if self.SIGNED and magnitude and rng.random() < self.random_negative_prob:
            magnitude = -magnitude
        return magnitude

    @abstractmethod
    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        """Return ``img`` transformed with ``magnitude``."""

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        if rng.random() >= self.prob:
            return results
        results['img'] = self.apply(results['img'], self.draw_magnitude(rng), rng)
        return results

    def __repr__(self):
        shown = (f'magnitude={self.magnitude}' if self.magnitude_range is None
                 else f'magnitude_range={self.magnitude_range}, level={self.magnitude_level}')
        return f'{type(self).__name__}({shown}, prob={self.prob})'


def _affine(img, matrix, pad_val, interpolation):
    flags = cv2.INTER_NEAREST if interpolation == 'nearest' else cv2.INTER_LINEAR
    border = (pad_val,) * 3 if isinstance(pad_val, (int, float)) else tuple(pad_val)
    out = cv2.warpAffine(img, matrix, (img.shape[1], img.shape[0]), flags=flags,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    return out[..., None] if out.ndim == 2 else out


@TRANSFORMS.register_module()
class AutoContrast(BaseAugTransform):
    """Stretch each channel to the full 0..255 range."""

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=0, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        lo = img.min(axis=(0, 1), keepdims=True).astype(np.float32)
        hi = img.max(axis=(0, 1), keepdims=True).astype(np.float32)
        scale = np.where(hi > lo, 255.0 / np.maximum(hi - lo, 1), 1.0)
        offset = np.where(hi > lo, lo, 0.0)
        return np.clip(np.rint((img - offset) * scale), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class Equalize(BaseAugTransform):
    """Equalize the histogram of each channel."""

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=0, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        return np.stack([cv2.equalizeHist(np.ascontiguousarray(img[..., c]))
                         for c in range(img.shape[2])], axis=2)


@TRANSFORMS.register_module()
class Invert(BaseAugTransform):
    """``255 - img``."""

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=0, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        return 255 - img


@TRANSFORMS.register_module()
class Posterize(BaseAugTransform):
    """Keep the top ``bits`` bits of each pixel (``bits`` rounds up)."""

    def __init__(self, bits: Optional[int] = None, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=bits, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        bits = int(np.ceil(magnitude))
        if bits >= 8:
            return img
        mask = np.uint8((0xFF << (8 - max(bits, 0))) & 0xFF)
        return img & mask


@TRANSFORMS.register_module()
class Solarize(BaseAugTransform):
    """Invert the pixels >= ``thr``."""

    def __init__(self, thr: Optional[float] = None, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=thr, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        return np.where(img >= magnitude, 255 - img, img).astype(np.uint8)


@TRANSFORMS.register_module()
class SolarizeAdd(BaseAugTransform):
    """Add ``magnitude`` to the pixels below ``thr`` (default 128)."""

    def __init__(self, magnitude: Optional[float] = None, thr: float = 128, prob: float = 0.5,
                 **kwargs):
        super().__init__(magnitude=magnitude, prob=prob, **kwargs)
        self.thr = thr

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        added = np.clip(img.astype(np.int16) + int(magnitude), 0, 255).astype(np.uint8)
        return np.where(img < self.thr, added, img)


class _FactorAdjust(BaseAugTransform):
    """An adjustment ``adjust(img, factor)`` by the factor ``1 + magnitude``."""
    SIGNED = True
    adjust = None  # set by each operation: one of the color functions

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        return self.adjust(img, 1 + magnitude)


@TRANSFORMS.register_module()
class ColorTransform(_FactorAdjust):
    """Saturation factor ``1 + magnitude`` (0: unchanged, -1: gray)."""
    adjust = staticmethod(adjust_saturation)


@TRANSFORMS.register_module()
class Contrast(_FactorAdjust):
    """Contrast factor ``1 + magnitude``."""
    adjust = staticmethod(adjust_contrast)


@TRANSFORMS.register_module()
class Brightness(_FactorAdjust):
    """Brightness factor ``1 + magnitude``."""
    adjust = staticmethod(adjust_brightness)


@TRANSFORMS.register_module()
class Sharpness(BaseAugTransform):
    """Blend with a smoothed copy (PIL's SMOOTH kernel): factor ``1 + magnitude``."""
    SIGNED = True
    KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        smooth = cv2.filter2D(img, -1, self.KERNEL, borderType=cv2.BORDER_REPLICATE)
        if smooth.ndim == 2:
            smooth = smooth[..., None]
        smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1] = img[0], img[-1], img[:, 0], img[:, -1]
        return blend(img, smooth.astype(np.float32), 1 + magnitude)


@TRANSFORMS.register_module()
class Rotate(BaseAugTransform):
    """Rotate by ``angle`` degrees (positive: clockwise) about the centre."""
    SIGNED = True

    def __init__(self, angle: Optional[float] = None, prob: float = 0.5, **kwargs):
        super().__init__(magnitude=angle, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        height, width = img.shape[:2]
        matrix = cv2.getRotationMatrix2D(((width - 1) * 0.5, (height - 1) * 0.5), -magnitude, 1)
        return _affine(img, matrix, self.pad_val, self.interpolation)


class _AlongAxis(BaseAugTransform):
    """An affine operation along ``direction``: 'horizontal' or 'vertical'."""
    SIGNED = True

    def __init__(self, magnitude: Optional[float] = None, direction: str = 'horizontal',
                 prob: float = 0.5, **kwargs):
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"{type(self).__name__}: direction must be 'horizontal' or "
                             f"'vertical', got {direction!r}.")
        super().__init__(magnitude=magnitude, prob=prob, **kwargs)
        self.direction = direction


@TRANSFORMS.register_module()
class Shear(_AlongAxis):
    """Shear by ``magnitude`` (the tangent) along ``direction``."""

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        if self.direction == 'horizontal':
            matrix = np.float32([[1, magnitude, 0], [0, 1, 0]])
        else:
            matrix = np.float32([[1, 0, 0], [magnitude, 1, 0]])
        return _affine(img, matrix, self.pad_val, self.interpolation)


@TRANSFORMS.register_module()
class Translate(_AlongAxis):
    """Shift by ``magnitude`` times the image width (or height)."""

    def apply(self, img: np.ndarray, magnitude: float, rng: np.random.Generator) -> np.ndarray:
        height, width = img.shape[:2]
        if self.direction == 'horizontal':
            matrix = np.float32([[1, 0, magnitude * width], [0, 1, 0]])
        else:
            matrix = np.float32([[1, 0, 0], [0, 1, magnitude * height]])
        return _affine(img, matrix, self.pad_val, self.interpolation)


@TRANSFORMS.register_module()
class Cutout(BaseAugTransform):
    """Fill a ``shape`` (int or (h, w)) square at a random centre with ``pad_val``."""

    def __init__(self, shape: Optional[Union[int, Sequence[int]]] = None, prob: float = 0.5,
                 **kwargs):
        super().__init__(magnitude=shape, prob=prob, **kwargs)

    def apply(self, img: np.ndarray, magnitude: Union[int, Sequence[int]],
              rng: np.random.Generator) -> np.ndarray:
        cut_h, cut_w = (magnitude, magnitude) if np.isscalar(magnitude) else magnitude
        cut_h, cut_w = int(cut_h), int(cut_w)
        height, width = img.shape[:2]
        cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
        top, left = max(cy - cut_h // 2, 0), max(cx - cut_w // 2, 0)
        out = img.copy()
        out[top:min(top + cut_h, height), left:min(left + cut_w, width)] = self.pad_val
        return out


# The ImageNet policy of AutoAugment (Cubuk et al., 2019, appendix): 25
# sub-policies of two (operation, probability, level 0..9) steps each.
# Magnitudes of a level (as mmpretrain's `imagenet` policy):
#   Posterize bits = int(8 - 4 * level / 10); Solarize thr = 256 - 256 * level / 9;
#   Rotate angle = 30 * level / 9; Shear = 0.3 * level / 9;
#   ColorTransform / Contrast / Sharpness magnitude = level / 10.
IMAGENET_POLICY = [
    [('Posterize', 0.4, 8), ('Rotate', 0.6, 9)],
    [('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)],
    [('Equalize', 0.8, 8), ('Equalize', 0.6, 3)],
    [('Posterize', 0.6, 7), ('Posterize', 0.6, 6)],
    [('Equalize', 0.4, 7), ('Solarize', 0.2, 4)],
    [('Equalize', 0.4, 4), ('Rotate', 0.8, 8)],
    [('Solarize', 0.6, 3), ('Equalize', 0.6, 7)],
    [('Posterize', 0.8, 5), ('Equalize', 1.0, 2)],
    [('Rotate', 0.2, 3), ('Solarize', 0.6, 8)],
    [('Equalize', 0.6, 8), ('Posterize', 0.4, 6)],
    [('Rotate', 0.8, 8), ('ColorTransform', 0.4, 0)],
    [('Rotate', 0.4, 9), ('Equalize', 0.6, 2)],
    [('Equalize', 0.0, 7), ('Equalize', 0.8, 8)],
    [('Invert', 0.6, 4), ('Equalize', 1.0, 8)],
    [('ColorTransform', 0.6, 4), ('Contrast', 1.0, 8)],
    [('Rotate', 0.8, 8), ('ColorTransform', 1.0, 2)],
    [('ColorTransform', 0.8, 8), ('Solarize', 0.8, 7)],
    [('Sharpness', 0.4, 7), ('Invert', 0.6, 8)],
    [('ShearX', 0.6, 5), ('Equalize', 1.0, 9)],
    [('ColorTransform', 0.4, 0), ('Equalize', 0.6, 3)],
    [('Equalize', 0.4, 7), ('Solarize', 0.2, 4)],
    [('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)],
    [('Invert', 0.6, 4), ('Equalize', 1.0, 8)],
    [('ColorTransform', 0.6, 4), ('Contrast', 1.0, 8)],
    [('Equalize', 0.8, 8), ('Equalize', 0.6, 3)],
]


def _level_to_cfg(name, prob, level):
    """One (operation, probability, level) step as a transform config."""
    if name == 'Posterize':
        return dict(type='Posterize', bits=int(8 - 4 * level / 10), prob=prob)
    if name == 'Solarize':
        return dict(type='Solarize', thr=256 - 256 * level / 9, prob=prob)
    if name == 'Rotate':
        return dict(type='Rotate', angle=30 * level / 9, prob=prob)
    if name == 'ShearX':
        return dict(type='Shear', magnitude=0.3 * level / 9, direction='horizontal', prob=prob)
    if name in ('ColorTransform', 'Contrast', 'Sharpness'):
        return dict(type=name, magnitude=level / 10, prob=prob)
    return dict(type=name, prob=prob)  # AutoContrast, Equalize, Invert: no magnitude


AUTOAUG_POLICIES = {
    'imagenet': [[_level_to_cfg(*step) for step in sub] for sub in IMAGENET_POLICY],
}

# RandAugment's operation set with magnitude ranges that grow with the level
# (timm's "increasing" variant, as mmpretrain's `timm_increasing`).
RANDAUG_POLICIES = {
    'timm_increasing': [
        dict(type='AutoContrast'),
        dict(type='Equalize'),
        dict(type='Invert'),
        dict(type='Rotate', magnitude_range=(0, 30)),
        dict(type='Posterize', magnitude_range=(4, 0)),
        dict(type='Solarize', magnitude_range=(256, 0)),
        dict(type='SolarizeAdd', magnitude_range=(0, 110)),
        dict(type='ColorTransform', magnitude_range=(0, 0.9)),
        dict(type='Contrast', magnitude_range=(0, 0.9)),
        dict(type='Brightness', magnitude_range=(0, 0.9)),
        dict(type='Sharpness', magnitude_range=(0, 0.9)),
        dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
        dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
        dict(type='Translate', magnitude_range=(0, 0.45), direction='horizontal'),
        dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
    ],
}


def _build_ops(cfgs, extra):
    ops = []
    for cfg in cfgs:
        cfg = {**extra, **copy.deepcopy(cfg)}
        ops.append(TRANSFORMS.build(cfg))
    return ops


@TRANSFORMS.register_module()
class AutoAugment:
    """Apply one randomly chosen sub-policy (a list of operations).

    Args:
        policies (str | list): 'imagenet' (the paper's ImageNet policy, which
            MindCV's Inception recipe uses as ``auto_augment: autoaug``) or a
            list of sub-policies, each a list of operation configs.
        hparams (dict): defaults merged into every operation, e.g.
            ``dict(pad_val=128)`` for the fill of rotations and shears.

    Example:
        >>> AutoAugment('imagenet')  # doctest: +ELLIPSIS
        AutoAugment(policies=25 sub-policies, hparams={'pad_val': 128})
    """

    def __init__(self, policies: Union[str, Sequence] = 'imagenet',
                 hparams: Optional[dict] = dict(pad_val=128)):
        if isinstance(policies, str):
            if policies not in AUTOAUG_POLICIES:
                raise ValueError(f'AutoAugment: unknown policy {policies!r}; choose one of '
                                 f'{sorted(AUTOAUG_POLICIES)} or give a list of sub-policies.')
            policies = AUTOAUG_POLICIES[policies]
        if not policies or not all(isinstance(p, (list, tuple)) and p for p in policies):
            raise ValueError('AutoAugment: policies must be a non-empty list of non-empty '
                             'lists of operation configs.')
        self.hparams = dict(hparams or {})
        self.sub_policies = [_build_ops(sub, self.hparams) for sub in policies]

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        for op in self.sub_policies[int(rng.integers(len(self.sub_policies)))]:
            results = op(results)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(policies={len(self.sub_policies)} sub-policies, '
                f'hparams={self.hparams})')


@TRANSFORMS.register_module()
class RandAugment:
    """Apply ``num_policies`` operations drawn (with replacement) from ``policies``.

    Args:
        policies (str | list): 'timm_increasing' or a list of operation
            configs with ``magnitude_range`` (or fixed magnitudes).
        num_policies (int): operations per image.
        magnitude_level (float): level in ``0..total_level``.
        magnitude_std (float | 'inf'): Gaussian noise on the level per
            operation ('inf': uniform in ``0..magnitude_level``).
        total_level (float): the level scale.
        hparams (dict): defaults merged into every operation.

    Example:
        >>> ra = RandAugment(num_policies=2, magnitude_level=9, magnitude_std=0.5)
    """

    def __init__(self, policies: Union[str, Sequence] = 'timm_increasing', num_policies: int = 2,
                 magnitude_level: Optional[float] = 9, magnitude_std: Union[float, str] = 0.0,
                 total_level: float = 10, hparams: Optional[dict] = dict(pad_val=128)):
        if isinstance(policies, str):
            if policies not in RANDAUG_POLICIES:
                raise ValueError(f'RandAugment: unknown policies {policies!r}; choose one of '
                                 f'{sorted(RANDAUG_POLICIES)} or give a list of op configs.')
            policies = RANDAUG_POLICIES[policies]
        if not 0 <= magnitude_level <= total_level:
            raise ValueError(f'RandAugment: magnitude_level must be in [0, {total_level}], '
                             f'got {magnitude_level}.')
        if num_policies < 0:
            raise ValueError('RandAugment: num_policies must be >= 0.')
        self.num_policies = num_policies
        self.magnitude_level = magnitude_level
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        self.hparams = dict(hparams or {})
        level_args = dict(magnitude_level=magnitude_level, magnitude_std=magnitude_std,
                          total_level=total_level)
        self.ops = _build_ops(
            [{**level_args, **p} if 'magnitude_range' in p else p for p in policies],
            self.hparams)

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        for i in rng.integers(len(self.ops), size=self.num_policies):
            results = self.ops[int(i)](results)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(ops={len(self.ops)}, num_policies={self.num_policies}, '
                f'magnitude_level={self.magnitude_level}, magnitude_std={self.magnitude_std}, '
                f'total_level={self.total_level})')
