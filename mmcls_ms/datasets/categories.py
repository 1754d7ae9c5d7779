"""Class names of the bundled datasets (read from package data)."""
import os.path as osp
from functools import lru_cache
from typing import Tuple

DATA_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')


@lru_cache(maxsize=None)
def imagenet_categories() -> Tuple[str, ...]:
    """The 1000 ImageNet-1k class names in class-index order.

    Example:
        >>> imagenet_categories()[0]
        'tench'
    """
    with open(osp.join(DATA_DIR, 'imagenet_classes.txt'), encoding='utf-8') as f:
        names = tuple(line.rstrip('\n') for line in f if line.strip())
    assert len(names) == 1000, f'expected 1000 ImageNet classes, found {len(names)}'
    return names


DIGITS_CATEGORIES = tuple(str(d) for d in range(10))
