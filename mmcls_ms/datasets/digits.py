"""The bundled handwritten digits, written out as PNG files on first use.

``mmcls_ms/data/digits.npz`` holds scikit-learn's 1797 8x8 digits (see
``mmcls_ms/data/README.md``).  :func:`prepare_digits` upsamples them to
``size x size`` grayscale PNGs in the ``CustomDataset`` folder layout::

    data/digits/train/<digit>/<index>.png   # 1442 images (80 %)
    data/digits/val/<digit>/<index>.png     #  355 images (20 %)

The split is stratified and fixed: within each class, every fifth image (in
the original order) goes to ``val``.
"""
import os
import os.path as osp
import shutil
import tempfile
import warnings
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmcls_ms.registry import DATASETS
from .categories import DATA_DIR, DIGITS_CATEGORIES
from .custom import CustomDataset

DIGITS_NPZ = osp.join(DATA_DIR, 'digits.npz')
DIGITS_SIZE = 32
VAL_EVERY = 5  # every 5th image of a class goes to val: a stratified 80/20 split
_MARKER = 'READY'


def load_digit_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: uint8 arrays (1797, 8, 8) in 0..16 and (1797,)."""
    with np.load(DIGITS_NPZ) as data:
        return data['images'], data['labels']


def digits_split() -> Dict[str, List[int]]:
    """``{'train': indices, 'val': indices}`` of the fixed stratified split."""
    _, labels = load_digit_arrays()
    split = {'train': [], 'val': []}
    for digit in range(10):
        for rank, idx in enumerate(np.flatnonzero(labels == digit)):
            split['val' if rank % VAL_EVERY == VAL_EVERY - 1 else 'train'].append(int(idx))
    return {k: sorted(v) for k, v in split.items()}


def is_prepared(data_root: str) -> bool:
    return osp.isfile(osp.join(data_root, _MARKER))


def prepared_size(data_root: str) -> Optional[int]:
    """The image side recorded when ``data_root`` was prepared (None if unknown)."""
    try:
        with open(osp.join(data_root, _MARKER)) as f:
            fields = dict(item.split('=') for item in f.read().split())
        return int(fields['size'])
    except (OSError, KeyError, ValueError):
        return None


def prepare_digits(data_root: str = 'data/digits', size: int = DIGITS_SIZE, force: bool = False,
                   verbose: bool = False) -> str:
    """Write the digits as PNG files under ``data_root`` (once).

    The files are written into a temporary folder next to ``data_root`` and
    moved into place in one rename, so concurrent processes (e.g. several
    ranks) never see a half-written dataset.

    Args:
        data_root (str): target folder.
        size (int): image side in pixels (the 8x8 digits are upsampled).
        force (bool): rewrite even when already prepared.

    Returns:
        str: ``data_root``.

    Example:
        >>> prepare_digits('data/digits')  # doctest: +SKIP
        'data/digits'
    """
    if is_prepared(data_root) and not force:
        return data_root
    if osp.exists(data_root) and not is_prepared(data_root) and os.listdir(data_root):
        if not force:
            raise FileExistsError(
                f'{data_root!r} exists but is not a complete digits dataset (no {_MARKER} file). '
                'Remove it, or run `python tools/misc/prepare_digits.py --force`.')
    images, labels = load_digit_arrays()
    parent = osp.dirname(osp.abspath(data_root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.digits-', dir=parent)
    try:
        split = digits_split()
        for name, indices in split.items():
            for digit in DIGITS_CATEGORIES:
                os.makedirs(osp.join(tmp, name, digit))
            for idx in indices:
                # 0..16 -> 0..255, then a smooth upsampling to the target size
                img = (images[idx].astype(np.float32) * (255.0 / 16.0)).round().astype(np.uint8)
                img = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
                path = osp.join(tmp, name, str(int(labels[idx])), f'{idx:04d}.png')
                if not cv2.imwrite(path, img):
                    raise IOError(f'Could not write {path!r}.')
        with open(osp.join(tmp, _MARKER), 'w') as f:
            f.write(f'size={size} train={len(split["train"])} val={len(split["val"])}\n')
        if force and osp.exists(data_root):
            shutil.rmtree(data_root)
        elif osp.isdir(data_root) and not os.listdir(data_root):
            os.rmdir(data_root)
        try:
            os.rename(tmp, data_root)
        except OSError:
            if not is_prepared(data_root):  # not another process winning the race
                raise
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        print(f'Wrote the digits dataset to {data_root} '
              f'({len(split["train"])} train, {len(split["val"])} val images, {size}x{size}).')
    return data_root


@DATASETS.register_module()
class Digits(CustomDataset):
    """The bundled handwritten digits (10 classes), prepared on first use.

    Args:
        data_root (str): where the PNG files live (default ``data/digits``,
            relative to the current directory as in mmpretrain).
        split (str): 'train' or 'val'.
        size (int): side of the written images, used only when preparing.
        **kwargs: ``CustomDataset`` arguments (``pipeline``...).

    Example:
        >>> ds = Digits(split='val', pipeline=[dict(type='LoadImageFromFile')])  # doctest: +SKIP
        >>> len(ds), ds.classes[0]                                                # doctest: +SKIP
        (355, '0')
    """
    SPLITS = ('train', 'val')

    def __init__(self, data_root: str = 'data/digits', split: str = 'train',
                 size: int = DIGITS_SIZE, **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'Digits: unknown split {split!r}; choose one of {self.SPLITS}.')
        prepare_digits(data_root, size=size)
        prepared = prepared_size(data_root)
        if prepared is not None and prepared != size:
            warnings.warn(f'{data_root} holds {prepared}x{prepared} digits, not {size}x{size}; '
                          'run `python tools/misc/prepare_digits.py --force --size '
                          f'{size} --data-root {data_root}` to rewrite them.')
        self.split = split
        kwargs.setdefault('classes', DIGITS_CATEGORIES)
        super().__init__(data_root=data_root, data_prefix=split, **kwargs)
