"""``BaseDataset``: a list of samples, class names and a transform pipeline.

Random transforms draw from ``results['rng']``: a ``numpy.random.Generator``
seeded from ``(seed, epoch, sample_idx)`` by :func:`sample_rng`.  A sample's
augmentation therefore depends only on those three numbers, never on which
worker process made it or in which order.
"""
from abc import ABC, abstractmethod
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .transforms.compose import Compose


def sample_rng(seed: int, epoch: int, sample_idx: int) -> np.random.Generator:
    """The generator that augments sample ``sample_idx`` in ``epoch``.

    Example:
        >>> a = sample_rng(0, 1, 5).random(); b = sample_rng(0, 1, 5).random()
        >>> a == b
        True
    """
    return np.random.default_rng([int(seed) % (1 << 64), int(epoch), int(sample_idx)])


def expand_path(root: str, path: str) -> str:
    """``root/path`` unless ``path`` is absolute or ``root`` is empty."""
    if not path or osp.isabs(path) or not root:
        return path
    return osp.join(root, path)


def read_classes(classes: Optional[Union[str, Sequence[str]]]) -> Optional[Tuple[str, ...]]:
    """Class names from a list/tuple, or a text file with one name per line."""
    if classes is None:
        return None
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise FileNotFoundError(f'Class list file {classes!r} does not exist.')
        with open(classes, encoding='utf-8') as f:
            return tuple(line.strip() for line in f if line.strip())
    if isinstance(classes, (list, tuple)):
        return tuple(str(c) for c in classes)
    raise TypeError(f'classes must be a list of names or a file path, got {type(classes)}.')


class BaseDataset(ABC):
    """Indexable dataset: ``dataset[i]`` runs the pipeline on sample ``i``.

    Subclasses fill ``load_data_list()`` with dicts holding at least
    ``img_path`` and (for labelled data) ``gt_label``.

    Args:
        data_root (str): folder that relative paths start from.
        ann_file (str): annotation file, relative to ``data_root``.
        data_prefix (str | dict): image folder, relative to ``data_root``;
            mmpretrain's ``dict(img_path=...)`` form is accepted.
        classes (list | str, optional): class names, or a file of them.
        metainfo (dict, optional): extra meta; ``metainfo['classes']`` works
            like ``classes``.
        pipeline (list): transform configs.
        test_mode (bool): kept for mmpretrain configs.
        lazy_init (bool): defer ``load_data_list`` until first use.
    """
    METAINFO = {}

    def __init__(self, data_root: str = '', ann_file: str = '', data_prefix: Union[str, dict] = '',
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 metainfo: Optional[dict] = None, pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False, lazy_init: bool = False, **kwargs):
        unknown = set(kwargs) - {'serialize_data', 'indices', 'max_refetch', 'filter_cfg'}
        if unknown:
            raise TypeError(f'{type(self).__name__} got unexpected arguments {sorted(unknown)}.')
        if isinstance(data_prefix, dict):
            data_prefix = data_prefix.get('img_path', data_prefix.get('img', ''))
        self.data_root = data_root or ''
        self.ann_file = expand_path(self.data_root, ann_file)
        self.data_prefix = expand_path(self.data_root, data_prefix) or self.data_root
        self.test_mode = test_mode
        metainfo = dict(metainfo or {})
        if classes is None:
            classes = metainfo.get('classes', self.METAINFO.get('classes'))
        self._metainfo = {**self.METAINFO, **metainfo}
        self._metainfo['classes'] = read_classes(classes)
        self.pipeline = Compose(pipeline)
        self._indices = kwargs.get('indices')
        self._data_list = None
        if not lazy_init:
            self.full_init()

    # -- loading ----------------------------------------------------------
    @abstractmethod
    def load_data_list(self) -> List[dict]:
        """The list of ``dict(img_path=..., gt_label=...)`` of the dataset."""

    def full_init(self) -> None:
        if self._data_list is None:
            self._data_list = self._subset(self.load_data_list())
            if self._metainfo.get('classes') is not None:
                self.check_labels(len(self._metainfo['classes']))

    def _subset(self, data_list):
        """mmengine's ``indices``: an int keeps the first n samples, a list
        keeps those samples."""
        if self._indices is None:
            return data_list
        if isinstance(self._indices, int):
            return data_list[:self._indices]
        try:
            return [data_list[i] for i in self._indices]
        except (IndexError, TypeError):
            raise ValueError(f'{type(self).__name__}: `indices` must be an int or a list of '
                             f'sample indices below {len(data_list)}, got '
                             f'{self._indices!r}.') from None

    def check_labels(self, num_classes: int, owner: str = 'classes') -> None:
        """Refuse any label outside ``0..num_classes-1``, naming where it comes
        from (the annotation file and line, or the image file of a class
        folder).

        Args:
            num_classes: how many classes there are.
            owner: the setting ``num_classes`` comes from, for the message:
                ``'classes'`` (the dataset's) or e.g. ``'model.head.num_classes'``.

        Example:
            >>> ds.check_labels(10, 'model.head.num_classes')  # doctest: +SKIP
            ValueError: data/train.txt:7: label 12 is out of range for ...
        """
        bad = [info for info in self.data_list
               if info.get('gt_label') is not None and not 0 <= info['gt_label'] < num_classes]
        if not bad:
            return
        first = bad[0]
        where = first.get('ann_line') or first['img_path']
        more = f' ({len(bad) - 1} more samples are out of range)' if len(bad) > 1 else ''
        highest = max(info['gt_label'] for info in bad)
        remedy = (f'give at least {highest + 1} class names' if owner == 'classes' else
                  f'set {owner} to at least {highest + 1}')
        raise ValueError(f'{where}: label {first["gt_label"]} is out of range for {num_classes} '
                         f'classes (0..{num_classes - 1}, from {owner}){more}. Fix the labels, '
                         f'or {remedy}.')

    @property
    def data_list(self) -> List[dict]:
        self.full_init()
        return self._data_list

    @property
    def metainfo(self) -> dict:
        return dict(self._metainfo)

    @property
    def CLASSES(self) -> Optional[Tuple[str, ...]]:
        return self._metainfo.get('classes')

    @property
    def classes(self) -> Optional[Tuple[str, ...]]:
        return self._metainfo.get('classes')

    @property
    def class_to_idx(self) -> Dict[str, int]:
        return {c: i for i, c in enumerate(self.classes or ())}

    def get_gt_labels(self) -> np.ndarray:
        """All labels as an int64 array (for metrics and class statistics)."""
        return np.array([d.get('gt_label', -1) for d in self.data_list], dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        return [int(self.data_list[idx].get('gt_label', -1))]

    # -- access -------------------------------------------------------------
    def __len__(self):
        return len(self.data_list)

    def get_data_info(self, idx: int) -> dict:
        """A copy of sample ``idx``'s raw info, with ``sample_idx`` added."""
        if not -len(self) <= idx < len(self):
            raise IndexError(f'{type(self).__name__} index {idx} is out of range '
                             f'(length {len(self)}).')
        idx = idx % len(self)
        info = dict(self.data_list[idx])
        info.pop('ann_line', None)
        info['sample_idx'] = idx
        return info

    def prepare_data(self, idx: int, seed: Optional[int] = 0, epoch: int = 0) -> Optional[dict]:
        """Run the pipeline on sample ``idx`` with its (seed, epoch) generator."""
        results = self.get_data_info(idx)
        results['rng'] = sample_rng(seed, epoch, results['sample_idx'])
        out = self.pipeline(results)
        if out is None:
            raise RuntimeError(f'The pipeline dropped sample {idx} ({results["img_path"]}); '
                               'datasets used for training must not drop samples.')
        if isinstance(out, dict):
            out.pop('rng', None)
            out.setdefault('sample_idx', results['sample_idx'])
        return out

    def __getitem__(self, idx):
        return self.prepare_data(idx)

    def __repr__(self):
        classes = self.classes
        lines = [f'Dataset {type(self).__name__}',
                 f'    Number of samples: \t{len(self)}']
        if classes is not None:
            shown = ', '.join(classes[:10]) + (', ...' if len(classes) > 10 else '')
            lines.append(f'    Number of categories: \t{len(classes)}')
            lines.append(f'    Classes: \t{shown}')
        lines.append(f'    Data root: \t{self.data_root}')
        lines.append(f'    Image prefix: \t{self.data_prefix}')
        if self.ann_file:
            lines.append(f'    Annotation file: \t{self.ann_file}')
        lines.append('    Transforms: ' + repr(self.pipeline).replace('\n', '\n    '))
        return '\n'.join(lines)
