"""Dataset wrappers with mmengine's / mmpretrain's names and index maps:
``RepeatDataset``, ``ClassBalancedDataset``, ``ConcatDataset`` and ``KFoldDataset``.

Each wrapper maps its index to ``(inner dataset, inner index)`` and reports its
own index as ``sample_idx``.  Augmentation is seeded per sample by
``(seed, epoch, sample_idx)`` (see ``base_dataset.sample_rng``); so that the
copies of one image within an epoch are augmented differently, a wrapper hands
the inner dataset a distinct epoch number per copy.

Example:
    >>> ds = DATASETS.build(dict(type='RepeatDataset', times=3, dataset=dict(
    ...     type='Digits', split='val', pipeline=[])))  # doctest: +SKIP
    >>> len(ds) == 3 * len(ds.dataset)                  # doctest: +SKIP
    True
"""
import bisect
import math
from typing import Any, List, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np

from mmcls_ms.registry import DATASETS
from mmcls_ms.utils.config import ConfigValueError


class EmptyDatasetError(ConfigValueError):
    """A wrapper around a dataset that has no samples."""


def build_inner(dataset: Any, wrapper: str) -> Any:
    """A dataset config or object -> a non-empty dataset."""
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset)
    if len(dataset) == 0:
        raise EmptyDatasetError(f'{wrapper}: the wrapped dataset ({type(dataset).__name__}) is '
                                'empty; check its data_root / ann_file.')
    return dataset


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _need_inner(cfg: dict, key: str) -> None:
    if cfg.get('dataset') is None:
        raise EmptyDatasetError(f'{key}.dataset is missing: a {cfg.get("type")} wraps one '
                                'dataset, e.g. dataset=dict(type=...).')


def check_dataset_cfg(cfg: Any, key: str) -> None:
    """Refuse the wrapper values that cannot be right, naming the config key,
    without building or reading any dataset (the Runner calls it when it is
    built).  Each wrapper type's ``check_cfg`` holds its rules; the wrapped
    configs are checked too.

    Example:
        >>> check_dataset_cfg(dict(type='ClassBalancedDataset', oversample_thr=1.5,
        ...                        dataset=dict(type='Digits')), 'train_dataloader.dataset')
        Traceback (most recent call last):
        ...
        mmcls_ms.utils.config.ConfigValueError: train_dataloader.dataset.oversample_thr=1.5 must be in (0, 1] (a share of the images).
    """
    if not isinstance(cfg, dict):
        return
    dataset_type = cfg.get('type')
    dataset_cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else None
    check = getattr(dataset_cls, 'check_cfg', None)
    if check is not None:
        check(cfg, key)
    check_dataset_cfg(cfg.get('dataset'), f'{key}.dataset')
    inner = cfg.get('datasets')
    for i, inner_cfg in enumerate(inner if isinstance(inner, (list, tuple)) else []):
        check_dataset_cfg(inner_cfg, f'{key}.datasets[{i}]')


class _IndexMapWrapper:
    """A wrapper whose item ``i`` is item ``index_map[i]`` of one inner dataset,
    copy number ``copy_ids[i]`` (its augmentation stream) of at most
    ``num_copies`` per epoch."""

    def __init__(self, dataset: Any, index_map: np.ndarray, copy_ids: np.ndarray, num_copies: int):
        self.dataset = dataset
        self.index_map = np.asarray(index_map, np.int64)
        self.copy_ids = np.asarray(copy_ids, np.int64)
        self.num_copies = int(num_copies)

    def __len__(self):
        return len(self.index_map)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    @property
    def classes(self) -> Optional[Sequence[str]]:
        return self.metainfo.get('classes')

    CLASSES = classes

    def full_init(self) -> None:
        """Kept for mmengine's ``lazy_init`` protocol; the wrapper is built eagerly."""

    def _check_index(self, idx):
        if not -len(self) <= idx < len(self):
            raise IndexError(f'{type(self).__name__} index {idx} is out of range '
                             f'(length {len(self)}).')
        return idx % len(self)

    def get_data_info(self, idx: int) -> dict:
        idx = self._check_index(idx)
        info = self.dataset.get_data_info(int(self.index_map[idx]))
        info['sample_idx'] = idx
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.dataset.get_cat_ids(int(self.index_map[self._check_index(idx)]))

    def get_gt_labels(self) -> np.ndarray:
        return np.asarray(self.dataset.get_gt_labels())[self.index_map]

    def prepare_data(self, idx: int, seed: Optional[int] = 0, epoch: int = 0) -> Any:
        idx = self._check_index(idx)
        copy_epoch = epoch * self.num_copies + int(self.copy_ids[idx])
        out = self.dataset.prepare_data(int(self.index_map[idx]), seed, copy_epoch)
        if isinstance(out, dict):
            out['sample_idx'] = idx
        return out

    def __getitem__(self, idx):
        return self.prepare_data(idx)

    def get_subset(self, indices: Union[int, Sequence[int]]) -> NoReturn:
        raise NotImplementedError(f'{type(self).__name__} has no get_subset (as in mmengine); '
                                  'subset the wrapped dataset instead.')


@DATASETS.register_module()
class RepeatDataset(_IndexMapWrapper):
    """The dataset ``times`` times over: index ``i`` is sample ``i % len(dataset)``
    (for 4 samples and ``times=2``, ``index_map`` is ``[0, 1, 2, 3, 0, 1, 2, 3]``)."""

    @staticmethod
    def check_cfg(cfg: dict, key: str) -> None:
        """Refuse ``times`` below 1 or a missing ``dataset``, naming ``key``."""
        times = cfg.get('times')
        if not _is_int(times) or times < 1:
            raise ConfigValueError(f'{key}.times={times!r} must be an int >= 1.')
        _need_inner(cfg, key)

    def __init__(self, dataset: Union[dict, Any], times: int, lazy_init: bool = False):
        self.check_cfg(dict(times=times, dataset=dataset), 'RepeatDataset')
        self.times = times
        dataset = build_inner(dataset, 'RepeatDataset')
        n = len(dataset)
        super().__init__(dataset, np.tile(np.arange(n), times), np.repeat(np.arange(times), n),
                         times)


def repeat_factors(dataset: Any, oversample_thr: float) -> np.ndarray:
    """mmengine's per-image repeat factor: ``max(1, sqrt(thr / f(c)))`` over the
    image's categories, ``f(c)`` the share of images containing ``c``.

    Example:
        >>> class Five:  # 4 images of class 0, 1 of class 1
        ...     def __len__(self): return 5
        ...     def get_cat_ids(self, i): return [0 if i < 4 else 1]
        >>> repeat_factors(Five(), 0.5).round(3).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.581]
    """
    cats = [set(dataset.get_cat_ids(i)) for i in range(len(dataset))]
    counts = {}
    for cat_ids in cats:
        for c in cat_ids:
            counts[c] = counts.get(c, 0) + 1
    n = len(dataset)
    cat_factor = {c: max(1.0, math.sqrt(oversample_thr / (k / n))) for c, k in counts.items()}
    return np.array([max((cat_factor[c] for c in cat_ids), default=1.0) for cat_ids in cats])


@DATASETS.register_module()
class ClassBalancedDataset(_IndexMapWrapper):
    """Repeat images of rare classes (Gupta et al., LVIS): each image appears
    ``ceil(r)`` times in its original order, ``r`` from :func:`repeat_factors`.

    Args:
        dataset: the dataset config or object.
        oversample_thr: classes whose share of images is below it are
            oversampled; in (0, 1].
    """

    @staticmethod
    def check_cfg(cfg: dict, key: str) -> None:
        """Refuse ``oversample_thr`` outside (0, 1] or a missing ``dataset``."""
        thr = cfg.get('oversample_thr')
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 < thr <= 1:
            raise ConfigValueError(f'{key}.oversample_thr={thr!r} must be in (0, 1] (a share '
                                   'of the images).')
        _need_inner(cfg, key)

    def __init__(self, dataset: Union[dict, Any], oversample_thr: float, lazy_init: bool = False):
        self.check_cfg(dict(oversample_thr=oversample_thr, dataset=dataset),
                       'ClassBalancedDataset')
        self.oversample_thr = float(oversample_thr)
        dataset = build_inner(dataset, 'ClassBalancedDataset')
        self.repeat_factors = repeat_factors(dataset, self.oversample_thr)
        repeats = np.ceil(self.repeat_factors).astype(np.int64)
        index_map = np.repeat(np.arange(len(dataset)), repeats)
        copy_ids = np.concatenate([np.arange(r) for r in repeats])
        super().__init__(dataset, index_map, copy_ids, int(repeats.max()))


@DATASETS.register_module()
class KFoldDataset(_IndexMapWrapper):
    """One fold of a K-fold split: the test part is
    ``[L * fold // K, L * (fold + 1) // K)`` of the (optionally shuffled)
    indices, the training part is the rest in order (mmpretrain).

    Args:
        dataset: the dataset config or object.
        fold: which fold, in ``[0, num_splits)``.
        num_splits: K, >= 2.
        test_mode: give the held-out part instead of the training part.
        seed: shuffle the indices with ``numpy.random.default_rng(seed)``
            first; None keeps the dataset order.
    """

    @staticmethod
    def check_cfg(cfg: dict, key: str) -> None:
        """Refuse ``num_splits`` below 2, a ``fold`` outside the splits or a
        missing ``dataset`` (the defaults are mmpretrain's: fold 0 of 5)."""
        num_splits, fold = cfg.get('num_splits', 5), cfg.get('fold', 0)
        if not _is_int(num_splits) or num_splits < 2:
            raise ConfigValueError(f'{key}.num_splits={num_splits!r} must be an int >= 2.')
        if not _is_int(fold) or not 0 <= fold < num_splits:
            raise ConfigValueError(f'{key}.fold={fold!r} must be an int in [0, {num_splits}) '
                                   f'for num_splits={num_splits}.')
        _need_inner(cfg, key)

    def __init__(self, dataset: Union[dict, Any], fold: int = 0, num_splits: int = 5,
                 test_mode: bool = False, seed: Optional[int] = None, lazy_init: bool = False):
        self.check_cfg(dict(fold=fold, num_splits=num_splits, dataset=dataset), 'KFoldDataset')
        dataset = build_inner(dataset, 'KFoldDataset')
        self.fold, self.num_splits, self.test_mode, self.seed = fold, num_splits, test_mode, seed
        self.train_indices, self.test_indices = kfold_indices(len(dataset), fold, num_splits,
                                                              seed)
        index_map = self.test_indices if test_mode else self.train_indices
        if len(index_map) == 0:
            raise ValueError(f'KFoldDataset: fold {fold} of {num_splits} is empty for '
                             f'{len(dataset)} samples; use fewer splits.')
        super().__init__(dataset, index_map, np.zeros(len(index_map), np.int64), 1)


def kfold_indices(length: int, fold: int, num_splits: int, seed: Optional[int] = None
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """``(train_indices, test_indices)`` of fold ``fold`` of ``num_splits``.

    Example:
        >>> [a.tolist() for a in kfold_indices(5, 1, 2)]
        [[0, 1], [2, 3, 4]]
    """
    order = np.arange(length)
    if seed is not None:
        np.random.default_rng(seed).shuffle(order)
    lo, hi = length * fold // num_splits, length * (fold + 1) // num_splits
    return np.concatenate([order[:lo], order[hi:]]), order[lo:hi]


@DATASETS.register_module()
class ConcatDataset:
    """Datasets one after another; their ``metainfo`` (minus ``ignore_keys``)
    must agree, and the first one's is used.

    Args:
        datasets: dataset configs or objects.
        ignore_keys: metainfo keys that may differ.
    """

    @staticmethod
    def check_cfg(cfg: dict, key: str) -> None:
        """Refuse an empty or missing ``datasets`` list, naming ``key``."""
        datasets = cfg.get('datasets')
        if not isinstance(datasets, (list, tuple)) or not datasets:
            raise EmptyDatasetError(f'{key}.datasets={datasets!r} must list at least one '
                                    'dataset.')

    def __init__(self, datasets: Sequence, ignore_keys: Union[str, Sequence[str], None] = None,
                 lazy_init: bool = False):
        self.check_cfg(dict(datasets=datasets), 'ConcatDataset')
        self.datasets = [build_inner(d, 'ConcatDataset') for d in datasets]
        ignore = {ignore_keys} if isinstance(ignore_keys, str) else set(ignore_keys or ())
        first = self.datasets[0].metainfo
        for i, ds in enumerate(self.datasets[1:], 1):
            meta = ds.metainfo
            for key in (set(first) | set(meta)) - ignore:
                if key not in first or key not in meta or _differ(first[key], meta[key]):
                    raise ValueError(
                        f'ConcatDataset: datasets[{i}] metainfo {key!r} differs from '
                        f'datasets[0] ({meta.get(key)!r} vs {first.get(key)!r}); make them '
                        f'agree or pass ignore_keys=[{key!r}].')
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    @property
    def metainfo(self) -> dict:
        return self.datasets[0].metainfo

    @property
    def classes(self) -> Optional[Sequence[str]]:
        return self.metainfo.get('classes')

    CLASSES = classes

    def full_init(self) -> None:
        """Kept for mmengine's ``lazy_init`` protocol; the wrapper is built eagerly."""

    def locate(self, idx: int) -> Tuple[int, int]:
        """``(dataset index, sample index)`` of item ``idx`` (negative allowed)."""
        if not -len(self) <= idx < len(self):
            raise IndexError(f'ConcatDataset index {idx} is out of range (length {len(self)}).')
        idx %= len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return which, idx - start

    def get_data_info(self, idx: int) -> dict:
        which, inner = self.locate(idx)
        info = self.datasets[which].get_data_info(inner)
        info['sample_idx'] = idx % len(self)
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        which, inner = self.locate(idx)
        return self.datasets[which].get_cat_ids(inner)

    def get_gt_labels(self) -> np.ndarray:
        return np.concatenate([np.asarray(d.get_gt_labels()) for d in self.datasets])

    def prepare_data(self, idx: int, seed: Optional[int] = 0, epoch: int = 0) -> Any:
        which, inner = self.locate(idx)
        # a distinct augmentation stream per part: sample k of two parts differs
        out = self.datasets[which].prepare_data(inner, seed, epoch * len(self.datasets) + which)
        if isinstance(out, dict):
            out['sample_idx'] = idx % len(self)
        return out

    def __getitem__(self, idx):
        return self.prepare_data(idx)

    def get_subset(self, indices: Union[int, Sequence[int]]) -> NoReturn:
        raise NotImplementedError('ConcatDataset has no get_subset (as in mmengine).')


def _differ(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return not np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) != list(b)
    return type(a) is not type(b) or a != b


__all__: List[str] = ['RepeatDataset', 'ClassBalancedDataset', 'ConcatDataset', 'KFoldDataset',
                      'EmptyDatasetError', 'check_dataset_cfg', 'kfold_indices',
                      'repeat_factors']
