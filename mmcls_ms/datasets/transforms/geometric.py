"""Resizing, cropping and flipping, with mmpretrain's names and arguments.

Every random choice draws from ``results['rng']`` (see ``image_ops.rng_of``).
"""
import math
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmcls_ms.registry import TRANSFORMS
from .image_ops import check_backend, fields_repr, imcrop, imresize, rng_of, to_size_pair


def _set_img(results, img):
    results['img'] = img
    results['img_shape'] = img.shape[:2]


def _resize_to(transform, results):
    """Resize to ``transform.target_size(height, width)``, recording mmcv's
    ``scale`` and ``scale_factor`` keys."""
    img = results['img']
    height, width = img.shape[:2]
    new_w, new_h = transform.target_size(height, width)
    _set_img(results, imresize(img, (new_w, new_h), transform.interpolation, transform.backend))
    results['scale'] = (new_w, new_h)
    results['scale_factor'] = (new_w / width, new_h / height)
    return results


@TRANSFORMS.register_module()
class Resize:
    """Resize to a fixed ``scale=(width, height)`` (an int means square).

    Args:
        scale (int | tuple): target (w, h); or None with ``scale_factor``.
        scale_factor (float | tuple): multiply (w, h) by it instead.
        keep_ratio (bool): fit inside ``scale`` (long edge <= max(scale),
            short edge <= min(scale)) and keep the aspect ratio.
        backend (str): 'cv2' or 'pillow'.  interpolation (str): 'bilinear'...

    Example:
        >>> Resize(scale=(40, 30))(dict(img=np.zeros((10, 20, 3), np.uint8)))['img'].shape
        (30, 40, 3)
    """

    def __init__(self, scale: Optional[Union[int, Sequence[int]]] = None,
                 scale_factor: Optional[float] = None, keep_ratio: bool = False,
                 interpolation: str = 'bilinear', backend: str = 'cv2',
                 clip_object_border: bool = True):
        if (scale is None) == (scale_factor is None):
            raise ValueError('Resize: give exactly one of `scale` and `scale_factor`.')
        self.scale = None if scale is None else to_size_pair(scale, 'Resize scale')
        if isinstance(scale_factor, (int, float)):
            scale_factor = (float(scale_factor), float(scale_factor))
        self.scale_factor = scale_factor
        self.keep_ratio = keep_ratio
        check_backend(backend, interpolation, 'Resize')
        self.interpolation = interpolation
        self.backend = backend

    def target_size(self, height: int, width: int) -> Tuple[int, int]:
        """The (width, height) that ``__call__`` resizes an image to."""
        if self.scale is None:
            fw, fh = self.scale_factor
            return int(width * fw + 0.5), int(height * fh + 0.5)
        if not self.keep_ratio:
            return self.scale
        factor = min(max(self.scale) / max(height, width), min(self.scale) / min(height, width))
        return int(width * factor + 0.5), int(height * factor + 0.5)

    def __call__(self, results: dict) -> dict:
        results = _resize_to(self, results)
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self):
        return fields_repr(self, 'scale', 'scale_factor', 'keep_ratio', 'interpolation',
                           'backend')


@TRANSFORMS.register_module()
class ResizeEdge:
    """Resize so that one edge equals ``scale``, keeping the aspect ratio.

    The other edge is ``int(scale * other / edge)`` (truncated, as mmpretrain).

    Args:
        scale (int): the target length of the chosen edge.
        edge (str): 'short' (default), 'long', 'width' or 'height'.

    Example:
        >>> img = np.zeros((375, 500, 3), np.uint8)
        >>> ResizeEdge(342)(dict(img=img))['img'].shape
        (342, 456, 3)
    """
    EDGES = ('short', 'long', 'width', 'height')

    def __init__(self, scale: int, edge: str = 'short', backend: str = 'cv2',
                 interpolation: str = 'bilinear'):
        if not isinstance(scale, int) or scale <= 0:
            raise ValueError(f'ResizeEdge: scale must be a positive int, got {scale!r}.')
        if edge not in self.EDGES:
            raise ValueError(f'ResizeEdge: edge must be one of {self.EDGES}, got {edge!r}.')
        check_backend(backend, interpolation, 'ResizeEdge')
        self.scale = scale
        self.edge = edge
        self.backend = backend
        self.interpolation = interpolation

    def target_size(self, height: int, width: int) -> Tuple[int, int]:
        """(width, height) after resizing."""
        width_is_edge = ((self.edge == 'short' and width < height)
                         or (self.edge == 'long' and width > height) or self.edge == 'width')
        if width_is_edge:
            return self.scale, int(self.scale * height / width)
        return int(self.scale * width / height), self.scale

    def __call__(self, results: dict) -> dict:
        return _resize_to(self, results)

    def __repr__(self):
        return fields_repr(self, 'scale', 'edge', 'backend', 'interpolation')


@TRANSFORMS.register_module()
class CenterCrop:
    """Crop the centre ``crop_size=(width, height)`` window (an int: square).

    Offsets are ``round((H - h) / 2)`` with Python's round-half-to-even, as in
    mmcv.  A crop larger than the image is clipped to the image unless
    ``auto_pad`` pads it first (with ``pad_val``).

    Example:
        >>> CenterCrop(4)(dict(img=np.zeros((8, 6, 3), np.uint8)))['img'].shape
        (4, 4, 3)
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], auto_pad: bool = False,
                 pad_cfg: Optional[dict] = None, clip_object_border: bool = True):
        self.crop_size = to_size_pair(crop_size, 'CenterCrop crop_size')
        self.auto_pad = auto_pad
        self.pad_val = (pad_cfg or {}).get('pad_val', 0)

    def __call__(self, results: dict) -> dict:
        img = results['img']
        crop_w, crop_h = self.crop_size
        if self.auto_pad:
            height, width = img.shape[:2]
            pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
            if pad_h or pad_w:
                img = np.pad(img, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=self.pad_val)
        height, width = img.shape[:2]
        crop_h, crop_w = min(crop_h, height), min(crop_w, width)
        top = max(0, int(round((height - crop_h) / 2.)))
        left = max(0, int(round((width - crop_w) / 2.)))
        _set_img(results, imcrop(img, top, left, crop_h, crop_w))
        results['crop_bbox'] = (left, top, left + crop_w, top + crop_h)
        return results

    def __repr__(self):
        return fields_repr(self, 'crop_size', 'auto_pad')


@TRANSFORMS.register_module()
class RandomResizedCrop:
    """Crop a random area and aspect ratio, then resize to ``scale``.

    The crop's area is ``U(crop_ratio_range) * H * W`` and its aspect ratio
    (w/h) is log-uniform in ``aspect_ratio_range``; after ``max_attempts``
    misses it falls back to the largest centred crop whose ratio is in range.

    Args:
        scale (int | tuple): output size; an int is square, a pair is (h, w)
            as in mmpretrain.
        crop_ratio_range (tuple): range of the crop area / image area.
        aspect_ratio_range (tuple): range of the crop's width / height.
        max_attempts (int): tries before the centre-crop fallback.
        interpolation (str), backend (str): see ``Resize``.

    Example:
        >>> rrc = RandomResizedCrop(299)
        >>> out = rrc(dict(img=np.zeros((375, 500, 3), np.uint8),
        ...                rng=np.random.default_rng(0)))
        >>> out['img'].shape
        (299, 299, 3)
    """

    def __init__(self, scale: Union[int, Sequence[int]],
                 crop_ratio_range: Sequence[float] = (0.08, 1.0),
                 aspect_ratio_range: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
                 max_attempts: int = 10, interpolation: str = 'bilinear', backend: str = 'cv2'):
        if isinstance(scale, int):
            scale = (scale, scale)
        if not (isinstance(scale, (tuple, list)) and len(scale) == 2 and min(scale) > 0):
            raise ValueError(f'RandomResizedCrop: scale must be an int or (h, w), got {scale!r}.')
        lo, hi = crop_ratio_range
        if not 0 < lo <= hi <= 1:
            raise ValueError('RandomResizedCrop: crop_ratio_range must satisfy '
                             f'0 < min <= max <= 1, got {crop_ratio_range!r}.')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError('RandomResizedCrop: aspect_ratio_range must satisfy '
                             f'0 < min <= max, got {aspect_ratio_range!r}.')
        if not isinstance(max_attempts, int) or max_attempts < 0:
            raise ValueError(f'RandomResizedCrop: max_attempts must be an int >= 0, '
                             f'got {max_attempts!r}.')
        check_backend(backend, interpolation, 'RandomResizedCrop')
        self.scale = tuple(int(s) for s in scale)  # (h, w)
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def crop_params(self, height: int, width: int,
                    rng: np.random.Generator) -> Tuple[int, int, int, int]:
        """(top, left, crop_h, crop_w) of one random crop."""
        area = height * width
        log_lo, log_hi = (math.log(r) for r in self.aspect_ratio_range)
        for _ in range(self.max_attempts):
            target_area = rng.uniform(*self.crop_ratio_range) * area
            aspect = math.exp(rng.uniform(log_lo, log_hi))
            crop_w = int(round(math.sqrt(target_area * aspect)))
            crop_h = int(round(math.sqrt(target_area / aspect)))
            if 0 < crop_w <= width and 0 < crop_h <= height:
                top = int(rng.integers(0, height - crop_h + 1))
                left = int(rng.integers(0, width - crop_w + 1))
                return top, left, crop_h, crop_w
        # Fallback: the largest centred crop with an aspect ratio in range.
        in_ratio = width / height
        if in_ratio < min(self.aspect_ratio_range):
            crop_w, crop_h = width, int(round(width / min(self.aspect_ratio_range)))
        elif in_ratio > max(self.aspect_ratio_range):
            crop_h, crop_w = height, int(round(height * max(self.aspect_ratio_range)))
        else:
            crop_h, crop_w = height, width
        return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w

    def __call__(self, results: dict) -> dict:
        img = results['img']
        top, left, crop_h, crop_w = self.crop_params(*img.shape[:2], rng_of(results))
        img = imcrop(img, top, left, crop_h, crop_w)
        out_h, out_w = self.scale
        _set_img(results, imresize(img, (out_w, out_h), self.interpolation, self.backend))
        results['crop_bbox'] = (left, top, left + crop_w, top + crop_h)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(scale={self.scale}, '
                f'crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={tuple(round(r, 4) for r in self.aspect_ratio_range)}, '
                f'max_attempts={self.max_attempts}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class RandomCrop:
    """Crop a random ``crop_size`` window, optionally padding first.

    Args:
        crop_size (int | tuple): output (h, w); an int is square.
        padding (int | tuple, optional): pad (left, top, right, bottom) first.
        pad_if_needed (bool): pad images smaller than the crop.
        pad_val (int): fill value of the padding.

    Example:
        >>> RandomCrop(4, padding=2)(dict(img=np.zeros((4, 4, 3), np.uint8)))['img'].shape
        (4, 4, 3)
    """

    def __init__(self, crop_size: Union[int, Sequence[int]],
                 padding: Optional[Union[int, Sequence[int]]] = None, pad_if_needed: bool = False,
                 pad_val: Union[int, Sequence[int]] = 0, padding_mode: str = 'constant'):
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        self.crop_size = tuple(int(s) for s in crop_size)
        if isinstance(padding, int):
            padding = (padding,) * 4
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.pad_val = pad_val
        modes = {'constant': 'constant', 'edge': 'edge', 'reflect': 'reflect',
                 'symmetric': 'symmetric'}
        if padding_mode not in modes:
            raise ValueError(f'RandomCrop: padding_mode must be one of {sorted(modes)}.')
        self.padding_mode = padding_mode

    def _pad(self, img, left, top, right, bottom):
        width = ((top, bottom), (left, right), (0, 0))
        if self.padding_mode == 'constant':
            return np.pad(img, width, mode='constant', constant_values=self.pad_val)
        return np.pad(img, width, mode=self.padding_mode)

    def __call__(self, results: dict) -> dict:
        img = results['img']
        crop_h, crop_w = self.crop_size
        if self.padding is not None:
            img = self._pad(img, *self.padding)
        if self.pad_if_needed:
            extra_h, extra_w = max(crop_h - img.shape[0], 0), max(crop_w - img.shape[1], 0)
            if extra_h or extra_w:
                img = self._pad(img, extra_w, extra_h, extra_w, extra_h)
        height, width = img.shape[:2]
        if crop_h > height or crop_w > width:
            raise ValueError(f'RandomCrop: crop {self.crop_size} is larger than the image '
                             f'({height}, {width}); set pad_if_needed=True.')
        rng = rng_of(results)
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        _set_img(results, imcrop(img, top, left, crop_h, crop_w))
        return results

    def __repr__(self):
        return fields_repr(self, 'crop_size', 'padding', 'pad_if_needed')


@TRANSFORMS.register_module()
class RandomFlip:
    """Flip with probability ``prob`` along ``direction``.

    Args:
        prob (float | list): probability of flipping; with a list of
            directions, a float is split evenly among them, a list gives one
            probability per direction.
        direction (str | list): 'horizontal', 'vertical' or 'diagonal'.

    Example:
        >>> img = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
        >>> RandomFlip(prob=1.0)(dict(img=img))['img'][0, :, 0]
        array([3, 0], dtype=uint8)
    """
    DIRECTIONS = ('horizontal', 'vertical', 'diagonal')

    def __init__(self, prob: Optional[Union[float, Sequence[float]]] = None,
                 direction: Union[str, Sequence[str]] = 'horizontal'):
        directions = [direction] if isinstance(direction, str) else list(direction)
        for d in directions:
            if d not in self.DIRECTIONS:
                raise ValueError(f'RandomFlip: direction must be in {self.DIRECTIONS}, got {d!r}.')
        if prob is None:
            prob = 0.0
        probs = [prob / len(directions)] * len(directions) if isinstance(prob, (int, float)) \
            else [float(p) for p in prob]
        if len(probs) != len(directions) or min(probs) < 0 or sum(probs) > 1 + 1e-9:
            raise ValueError(f'RandomFlip: prob {prob!r} does not fit direction {direction!r}: '
                             'need one probability per direction, each >= 0, summing to <= 1.')
        self.prob = prob
        self.direction = direction
        self._choices = directions + [None]
        self._probs = probs + [max(0.0, 1.0 - sum(probs))]
        self._cumulative = np.cumsum(self._probs)

    # cv2.flip is ~100x faster than copying a reversed numpy view
    FLIP_CODES = {'horizontal': 1, 'vertical': 0, 'diagonal': -1}

    @classmethod
    def flip(cls, img: np.ndarray, direction: str) -> np.ndarray:
        out = cv2.flip(img, cls.FLIP_CODES[direction])
        return out[..., None] if img.ndim == 3 and out.ndim == 2 else out

    def __call__(self, results: dict) -> dict:
        rng = rng_of(results)
        # one uniform draw against the cumulative probabilities (rng.choice
        # with p= costs ~30 us per call)
        pick = int(np.searchsorted(self._cumulative, rng.random(), side='right'))
        direction = self._choices[min(pick, len(self._choices) - 1)]
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        if direction is not None:
            results['img'] = self.flip(results['img'], direction)
        return results

    def __repr__(self):
        return fields_repr(self, 'prob', 'direction')
