"""The data loader: a MindSpore ``GeneratorDataset`` over our own sample order.

Why this shape:

- The order of an epoch comes from ``DefaultSampler`` (numpy, seeded by
  ``(seed, epoch)``), and each sample is augmented with its own generator
  seeded by ``(seed, epoch, sample_idx)``.  MindSpore only runs the work in
  parallel and hands it over in order, so a batch never depends on the number
  of workers.
- A row of the ``GeneratorDataset`` is a whole batch (``BatchSource``): each
  worker makes complete batches.  Per-image rows cost MindSpore about a
  millisecond each with 2 workers, as much as decoding a 500x375 JPEG.
- Workers are threads by default: OpenCV decodes and resizes without the GIL,
  and threads start instantly and share memory.  ``worker_type='process'``
  gives separate processes for pipelines heavy in Python code.
- Pixels travel as uint8 (4x less copying than float32); the model's data
  preprocessor casts and normalises.
- No MindSpore C++ vision ops in the pipeline (checked by
  ``benchmarks/data_pipeline.py``): their ``Decode``,
  ``Resize`` and ``HorizontalFlip`` give the very same pixels as OpenCV (they
  run the same libjpeg-turbo / OpenCV code, so there is no speed to gain);
  ``CenterCrop`` puts an odd margin on the other side (floor instead of
  mmcv's round-half-even: 21 vs 22 rows for 342 -> 299), and
  ``RandomResizedCrop`` / ``RandomCropDecodeResize`` draw from MindSpore's
  global generator, which cannot be seeded per sample, so batches would
  depend on the number of workers.  ``RandomCropDecodeResize`` is faster
  because it decodes only the crop, but its pixels differ from mmpretrain's
  decode-crop-resize.
- A new ``GeneratorDataset`` is built per epoch (and for ``iter_from``), which
  is how the epoch and the resume position reach the workers.
- An image that cannot be decoded ends the run with one ``ImageReadError``
  naming the file, or, with ``skip_bad_images=True``, is skipped: training
  (a sampler that pads, ``round_up=True``) takes the next readable sample of
  the epoch in its place, so batches keep their size; evaluation leaves it
  out.  Each skipped file is logged once, with a count per pass.
"""
import copy
import logging
import math
import multiprocessing
import warnings
from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np

from mmcls_ms.registry import DATA_SAMPLERS, DATASETS
from mmcls_ms.utils.arg_checks import check_choice, check_int
from mmcls_ms.utils.logging import LOGGER_NAME
from .dataset_wrappers import EmptyDatasetError
from .samplers import DefaultSampler
from .transforms.loading import ImageReadError

# dataloader keys of mmpretrain / PyTorch configs that have no meaning here
IGNORED_KEYS = ('persistent_workers', 'pin_memory', 'prefetch_factor', 'timeout',
                'worker_init_fn', 'multiprocessing_context', 'generator')
COLLATE_FNS = ('default_collate', 'pseudo_collate')
COLUMNS = ['inputs', 'gt_label', 'sample_idx', 'skipped']
WORKER_TYPES = ('thread', 'process')
logger = logging.getLogger(LOGGER_NAME)


def collate_sample(out: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, gt_label, sample_idx) of one pipeline output."""
    sample = out.get('data_samples')
    label = -1
    if sample is not None and 'gt_label' in sample:
        label = int(sample.gt_label[0])
    inputs = out['inputs']
    if inputs.dtype != np.uint8:
        raise TypeError(f'Sample {out.get("sample_idx")}: the pipeline gave {inputs.dtype} '
                        'inputs; keep pixels uint8 (normalisation belongs to the data '
                        'preprocessor).')
    return inputs, np.array(label, np.int32), np.array(out['sample_idx'], np.int64)


class EpochSource:
    """Random-access source for ``GeneratorDataset``: row ``k`` is sample
    ``indices[k]``, augmented for ``(seed, epoch)``."""

    def __init__(self, dataset: Any, indices: Sequence[int], seed: int, epoch: int,
                 copy_ids: Optional[Sequence[int]] = None, num_copies: int = 1):
        self.dataset = dataset
        self.indices = np.asarray(indices, np.int64)
        self.seed = seed
        self.epoch = epoch
        # repeated augmentation: copy c of an image draws from epoch number
        # epoch * num_copies + c, so the copies of one epoch differ
        self.copy_ids = copy_ids
        self.num_copies = num_copies

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, k):
        idx = int(self.indices[k])
        epoch = self.epoch
        if self.copy_ids is not None:
            epoch = epoch * self.num_copies + int(self.copy_ids[k])
        return collate_sample(self.dataset.prepare_data(idx, self.seed, epoch))


def stack_batch(rows: Sequence[dict]) -> dict:
    """Stack (inputs, label, idx) rows into the batch dict; clear error on
    mixed image sizes."""
    shapes = {r[0].shape for r in rows}
    if len(shapes) > 1:
        raise ValueError(f'Images of one batch differ in shape {sorted(shapes)} (samples '
                         f'{[int(r[2]) for r in rows]}); end the pipeline with a fixed-size '
                         'crop or resize.')
    return {'inputs': np.stack([r[0] for r in rows]),
            'gt_label': np.stack([r[1] for r in rows]),
            'sample_idx': np.stack([r[2] for r in rows])}


class BatchSource:
    """Random-access source whose row ``b`` is a whole batch: one hand-over per
    batch instead of per image keeps MindSpore's per-row cost small.

    A row is ``(inputs, gt_label, sample_idx, skipped)``; ``skipped`` holds
    the sample indices of the unreadable images met while making it (only
    with ``skip_bad_images``; otherwise the first one raises).
    """

    def __init__(self, source: Any, batch_size: int, skip_bad_images: bool = False,
                 fill_skipped: bool = True, name: str = 'dataloader'):
        self.source = source
        self.batch_size = batch_size
        self.skip_bad_images = skip_bad_images
        self.fill_skipped = fill_skipped
        self.name = name

    def __len__(self):
        return math.ceil(len(self.source) / self.batch_size)

    def _read(self, k, skipped):
        """Row ``k`` of the source, or None when its image is unreadable and
        skipping is on (its sample index goes to ``skipped``)."""
        try:
            return self.source[k]
        except ImageReadError as err:
            if not self.skip_bad_images:
                raise ImageReadError(f'{err} {bad_image_hint(self.name)}') from err
            skipped.append(int(self.source.indices[k]))
            return None

    def _substitute(self, k, skipped):
        """The next readable sample of the epoch after position ``k``."""
        n = len(self.source)
        for step in range(1, n):
            row = self._read((k + step) % n, skipped)
            if row is not None:
                return row
        raise ImageReadError(f'{self.name}: none of the {n} images of this epoch can be '
                             f'read (skip_bad_images=True). {bad_image_hint(self.name)}')

    def __getitem__(self, b):
        start = b * self.batch_size
        stop = min(start + self.batch_size, len(self.source))
        rows, skipped = [], []
        for k in range(start, stop):
            row = self._read(k, skipped)
            if row is None and self.fill_skipped:
                row = self._substitute(k, skipped)
            if row is not None:
                rows.append(row)
        skipped = np.array(sorted(set(skipped)), np.int64)
        if not rows:  # evaluation: every image of this batch was left out
            return (np.zeros((0,), np.uint8), np.zeros((0,), np.int32),
                    np.zeros((0,), np.int64), skipped)
        batch = stack_batch(rows)
        return batch['inputs'], batch['gt_label'], batch['sample_idx'], skipped


def bad_image_hint(name: str) -> str:
    """What to do about an unreadable image met by dataloader ``name``.

    Example:
        >>> bad_image_hint('val_dataloader')[:60]
        'List every bad file with `python tools/misc/verify_dataset.p'
    """
    phase = name[:-len('_dataloader')] if name.endswith('_dataloader') else 'train'
    return (f'List every bad file with `python tools/misc/verify_dataset.py CONFIG --phase '
            f'{phase}` and remove or replace them, or set {name}.skip_bad_images=True to '
            'skip them.')


class DataLoader:
    """Batches of one rank, in a reproducible order.

    Iterating yields dicts of numpy arrays: ``inputs`` (N, 3, H, W) uint8,
    ``gt_label`` (N,) int32 (-1 when unlabelled) and ``sample_idx`` (N,) int64.

    Args:
        dataset: an indexable dataset with ``prepare_data(idx, seed, epoch)``.
        batch_size (int): samples per batch.
        sampler (DefaultSampler): the per-epoch order of this rank.
        num_workers (int): parallel pipeline workers of the MindSpore engine;
            0 runs the pipeline in this process without MindSpore (debugging).
        drop_last (bool): drop the last incomplete batch.
        seed (int): seeds the per-sample augmentation.
        worker_type (str): 'thread' (default) or 'process' workers.
        skip_bad_images (bool): skip images that cannot be decoded instead of
            ending the run (each is logged once; see the module docstring).
        name (str): the config key of this loader, for messages.

    Example:
        >>> loader = build_dataloader(cfg, seed=0)  # doctest: +SKIP
        >>> loader.set_epoch(1)                     # doctest: +SKIP
        >>> batch = next(iter(loader))              # doctest: +SKIP
    """

    def __init__(self, dataset: Any, batch_size: int, sampler: Any, num_workers: int = 0,
                 drop_last: bool = False, seed: Optional[int] = 0, worker_type: str = 'thread',
                 skip_bad_images: bool = False, name: str = 'dataloader'):
        if not isinstance(skip_bad_images, bool):
            raise ValueError(f'{name}.skip_bad_images must be True or False, got '
                             f'{skip_bad_images!r}.')
        self.dataset = dataset
        self.batch_size = check_int(batch_size, f'{name}.batch_size')
        self.sampler = sampler
        self.num_workers = check_int(num_workers, f'{name}.num_workers', minimum=0)
        self.drop_last = drop_last
        self.seed = seed
        self.worker_type = check_choice(worker_type, WORKER_TYPES, f'{name}.worker_type')
        self.skip_bad_images = skip_bad_images
        self.name = name
        # sample index -> reason, for every unreadable image skipped so far
        self.skipped = {}

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch: it sets the order and the augmentation."""
        self.sampler.set_epoch(epoch)

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def epoch_indices(self) -> np.ndarray:
        """Sample indices of this rank for the current epoch, as batched."""
        indices = self.sampler.indices()
        return indices[:len(self) * self.batch_size]

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, start_batch: int = 0) -> Iterator:
        """Iterate the current epoch from batch ``start_batch`` (resume)."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f'start_batch {start_batch} is outside 0..{len(self)}.')
        start = start_batch * self.batch_size
        indices = self.epoch_indices()[start:]
        copy_ids = None
        if hasattr(self.sampler, 'copy_ids'):  # RepeatAugSampler
            copy_ids = self.sampler.copy_ids()[start:start + len(indices)]
        source = EpochSource(self.dataset, indices, self.seed, self.epoch, copy_ids,
                             getattr(self.sampler, 'num_repeats', 1))
        if len(source) == 0:
            return iter(())
        # a sampler that pads (training) may repeat samples: fill a skipped
        # image's place; evaluation must not count a sample twice: leave it out
        batches = BatchSource(source, self.batch_size, self.skip_bad_images,
                              fill_skipped=getattr(self.sampler, 'round_up', True),
                              name=self.name)
        rows = (self._iter_in_process(batches) if self.num_workers == 0 else
                self._iter_mindspore(batches))
        return self._batches(rows)

    def _batches(self, rows):
        """Batch dicts from ``(inputs, gt_label, sample_idx, skipped)`` rows;
        logs each skipped image once, and a count per pass."""
        skipped_now = set()
        for inputs, labels, idx, skipped in rows:
            for i in skipped.tolist():
                skipped_now.add(i)
                if i not in self.skipped:
                    self.skipped[i] = self._skip_reason(i)
                    logger.warning(
                        f'{self.name}: skipped an unreadable image (skip_bad_images=True): '
                        f'{self.skipped[i]}')
            if len(idx):
                yield {'inputs': inputs, 'gt_label': labels, 'sample_idx': idx}
        if skipped_now:
            logger.warning(
                f'{self.name}: {len(skipped_now)} unreadable image(s) skipped in this pass '
                f'over the data ({len(self.skipped)} different files so far).')

    def _skip_reason(self, idx):
        """The decoder's message for sample ``idx`` (read again here: a worker
        process cannot hand back text)."""
        try:
            self.dataset.prepare_data(idx, self.seed, self.epoch)
        except ImageReadError as err:
            return str(err)
        return f'sample {idx}'

    def _iter_in_process(self, batches):
        for b in range(len(batches)):
            yield batches[b]

    def _iter_mindspore(self, batches):
        import mindspore.dataset as ds  # import here: building configs needs no MindSpore
        workers = min(self.num_workers, len(batches))
        dataset = ds.GeneratorDataset(
            batches, column_names=COLUMNS, shuffle=False, num_parallel_workers=workers,
            python_multiprocessing=self.worker_type == 'process')
        iterator = dataset.create_tuple_iterator(output_numpy=True, num_epochs=1,
                                                 do_copy=False)
        done = 0
        try:
            for row in iterator:
                yield row
                done += 1
        except RuntimeError:
            # MindSpore wraps a worker's error in a long RuntimeError. Batches
            # are deterministic, so redo them here from the first one not
            # delivered (workers run ahead) to raise the original, readable
            # error (e.g. ImageReadError naming the file).
            ahead = 64 + 4 * workers * ds.config.get_prefetch_size()
            for b in range(done, min(len(batches), done + ahead)):
                batches[b]
            raise
        finally:
            iterator.stop()

    def __repr__(self):
        return (f'{type(self).__name__}(batch_size={self.batch_size}, num_batches={len(self)}, '
                f'num_workers={self.num_workers}, drop_last={self.drop_last}, seed={self.seed}, '
                f'skip_bad_images={self.skip_bad_images}, sampler={self.sampler!r}, '
                f'dataset={type(self.dataset).__name__})')


def clamp_num_workers(num_workers: int, name: str = 'dataloader') -> int:
    """``num_workers`` capped at the number of CPU cores, as MindSpore requires.

    mmpretrain's configs ask for 5 workers; MindSpore refuses more parallel
    workers than cores, so fewer are used, with one warning.

    Example:
        >>> clamp_num_workers(1)
        1
    """
    cores = multiprocessing.cpu_count()  # the bound MindSpore checks against
    if num_workers > cores:
        logger.warning(f'{name}.num_workers={num_workers} is more than the {cores} CPU cores '
                       f'MindSpore allows; using {cores} workers.')
        return cores
    return num_workers


def build_dataloader(dataloader_cfg: dict, seed: Optional[int] = None, rank: int = 0,
                     world_size: int = 1, name: str = 'dataloader') -> DataLoader:
    """Build a ``DataLoader`` from an mmpretrain-style dataloader config.

    Args:
        dataloader_cfg (dict): ``batch_size``, ``num_workers`` (capped at the
            number of CPU cores), ``dataset`` (config or object),
            ``sampler=dict(type='DefaultSampler', shuffle=...)``, optional
            ``drop_last`` (default False), ``worker_type`` ('thread' |
            'process'), ``skip_bad_images`` (default False).  PyTorch-only
            keys (``persistent_workers``, ``pin_memory``, ``collate_fn``...)
            are accepted and ignored.
        seed (int, optional): order and augmentation seed; None draws one.
            Every rank must get the same seed.
        rank, world_size (int): this process's shard.
        name (str): the config key (``'train_dataloader'``...), for messages.

    Example:
        >>> loader = build_dataloader(dict(
        ...     batch_size=32, num_workers=2,
        ...     dataset=dict(type='Digits', split='train', pipeline=[
        ...         dict(type='LoadImageFromFile'), dict(type='PackInputs')]),
        ...     sampler=dict(type='DefaultSampler', shuffle=True)), seed=0)  # doctest: +SKIP
    """
    cfg = copy.deepcopy(dict(dataloader_cfg))
    for key in IGNORED_KEYS:
        cfg.pop(key, None)
    collate = cfg.pop('collate_fn', None)
    if collate is not None:
        collate_name = collate.get('type') if isinstance(collate, dict) else getattr(
            collate, '__name__', collate)
        if collate_name not in COLLATE_FNS:
            warnings.warn(f'collate_fn {collate_name!r} is ignored: batches are always stacked '
                          'numpy arrays (inputs, gt_label, sample_idx).')
    if 'batch_sampler' in cfg and cfg.pop('batch_sampler') is not None:
        raise ValueError('dataloader batch_sampler is not supported; use sampler + batch_size.')
    try:
        batch_size = cfg.pop('batch_size')
        dataset = cfg.pop('dataset')
    except KeyError as err:
        raise KeyError(f'The dataloader config needs {err.args[0]!r} (got keys '
                       f'{sorted(dataloader_cfg)}).') from None
    num_workers = cfg.pop('num_workers', 0)
    drop_last = cfg.pop('drop_last', False)
    worker_type = cfg.pop('worker_type', 'thread')
    skip_bad_images = cfg.pop('skip_bad_images', False)
    sampler_cfg = cfg.pop('sampler', None) or dict(type='DefaultSampler', shuffle=True)
    if cfg:
        raise KeyError(f'Unknown dataloader config keys {sorted(cfg)}.')
    if isinstance(num_workers, int):
        num_workers = clamp_num_workers(num_workers, name)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 31))
    if isinstance(dataset, dict):
        try:
            dataset = DATASETS.build(dataset)
        except EmptyDatasetError as err:  # name the config key the wrapper cannot know
            raise EmptyDatasetError(f'{name}.dataset: {err}') from None
    sampler_cfg = dict(sampler_cfg)
    sampler_cfg.setdefault('type', 'DefaultSampler')
    sampler_cfg.setdefault('seed', seed)
    sampler = DATA_SAMPLERS.build(
        sampler_cfg, default_args=dict(dataset=dataset, rank=rank, world_size=world_size))
    return DataLoader(dataset, batch_size, sampler, num_workers=num_workers,
                      drop_last=drop_last, seed=seed, worker_type=worker_type,
                      skip_bad_images=skip_bad_images, name=name)


__all__ = ['DataLoader', 'build_dataloader', 'DefaultSampler']
