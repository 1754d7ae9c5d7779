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
  ``tools/analysis_tools/benchmark_pipeline.py``): their ``Decode``,
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
"""
import copy
import math
import warnings

import numpy as np

from mmcls_ms.registry import DATA_SAMPLERS, DATASETS
from .samplers import DefaultSampler

# dataloader keys of mmpretrain / PyTorch configs that have no meaning here
IGNORED_KEYS = ('persistent_workers', 'pin_memory', 'prefetch_factor', 'timeout',
                'worker_init_fn', 'multiprocessing_context', 'generator')
COLLATE_FNS = ('default_collate', 'pseudo_collate')
COLUMNS = ['inputs', 'gt_label', 'sample_idx']
WORKER_TYPES = ('thread', 'process')


def collate_sample(out):
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

    def __init__(self, dataset, indices, seed, epoch, copy_ids=None, num_copies=1):
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


def stack_batch(rows):
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
    batch instead of per image keeps MindSpore's per-row cost small."""

    def __init__(self, source, batch_size):
        self.source = source
        self.batch_size = batch_size

    def __len__(self):
        return math.ceil(len(self.source) / self.batch_size)

    def __getitem__(self, b):
        start = b * self.batch_size
        stop = min(start + self.batch_size, len(self.source))
        batch = stack_batch([self.source[k] for k in range(start, stop)])
        return batch['inputs'], batch['gt_label'], batch['sample_idx']


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

    Example:
        >>> loader = build_dataloader(cfg, seed=0)  # doctest: +SKIP
        >>> loader.set_epoch(1)                     # doctest: +SKIP
        >>> batch = next(iter(loader))              # doctest: +SKIP
    """

    def __init__(self, dataset, batch_size, sampler, num_workers=0, drop_last=False, seed=0,
                 worker_type='thread'):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}.')
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f'num_workers must be an int >= 0, got {num_workers!r}.')
        if worker_type not in WORKER_TYPES:
            raise ValueError(f'worker_type must be one of {WORKER_TYPES}, got {worker_type!r}.')
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.num_workers = num_workers
        self.drop_last = drop_last
        self.seed = seed
        self.worker_type = worker_type

    @property
    def epoch(self):
        return self.sampler.epoch

    def set_epoch(self, epoch):
        """Choose the epoch: it sets the order and the augmentation."""
        self.sampler.set_epoch(epoch)

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def epoch_indices(self):
        """Sample indices of this rank for the current epoch, as batched."""
        indices = self.sampler.indices()
        return indices[:len(self) * self.batch_size]

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, start_batch=0):
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
        if self.num_workers == 0:
            return self._iter_in_process(source)
        return self._iter_mindspore(source)

    def _iter_in_process(self, source):
        for start in range(0, len(source), self.batch_size):
            yield stack_batch([source[k] for k in
                               range(start, min(start + self.batch_size, len(source)))])

    def _iter_mindspore(self, source):
        import mindspore.dataset as ds  # import here: building configs needs no MindSpore
        batches = BatchSource(source, self.batch_size)
        workers = min(self.num_workers, len(batches))
        dataset = ds.GeneratorDataset(
            batches, column_names=COLUMNS, shuffle=False, num_parallel_workers=workers,
            python_multiprocessing=self.worker_type == 'process')
        iterator = dataset.create_tuple_iterator(output_numpy=True, num_epochs=1,
                                                 do_copy=False)
        done = 0
        try:
            for inputs, labels, idx in iterator:
                yield {'inputs': inputs, 'gt_label': labels, 'sample_idx': idx}
                done += 1
        except RuntimeError:
            # MindSpore wraps a worker's error in a long RuntimeError. Batches
            # are deterministic, so redo the failing one here to raise the
            # original, readable error (e.g. ImageReadError naming the file).
            if done < len(batches):
                batches[done]
            raise
        finally:
            iterator.stop()

    def __repr__(self):
        return (f'{type(self).__name__}(batch_size={self.batch_size}, num_batches={len(self)}, '
                f'num_workers={self.num_workers}, drop_last={self.drop_last}, seed={self.seed}, '
                f'sampler={self.sampler!r}, dataset={type(self.dataset).__name__})')


def build_dataloader(dataloader_cfg, seed=None, rank=0, world_size=1):
    """Build a ``DataLoader`` from an mmpretrain-style dataloader config.

    Args:
        dataloader_cfg (dict): ``batch_size``, ``num_workers``, ``dataset``
            (config or object), ``sampler=dict(type='DefaultSampler',
            shuffle=...)``, optional ``drop_last`` (default False),
            ``worker_type`` ('thread' | 'process').  PyTorch-only keys
            (``persistent_workers``, ``pin_memory``, ``collate_fn``...) are
            accepted and ignored.
        seed (int, optional): order and augmentation seed; None draws one.
            Every rank must get the same seed.
        rank, world_size (int): this process's shard.

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
        name = collate.get('type') if isinstance(collate, dict) else getattr(collate, '__name__',
                                                                             collate)
        if name not in COLLATE_FNS:
            warnings.warn(f'collate_fn {name!r} is ignored: batches are always stacked numpy '
                          'arrays (inputs, gt_label, sample_idx).')
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
    sampler_cfg = cfg.pop('sampler', None) or dict(type='DefaultSampler', shuffle=True)
    if cfg:
        raise KeyError(f'Unknown dataloader config keys {sorted(cfg)}.')
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 31))
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset)
    sampler_cfg = dict(sampler_cfg)
    sampler_cfg.setdefault('type', 'DefaultSampler')
    sampler_cfg.setdefault('seed', seed)
    sampler = DATA_SAMPLERS.build(
        sampler_cfg, default_args=dict(dataset=dataset, rank=rank, world_size=world_size))
    return DataLoader(dataset, batch_size, sampler, num_workers=num_workers,
                      drop_last=drop_last, seed=seed, worker_type=worker_type)


__all__ = ['DataLoader', 'build_dataloader', 'DefaultSampler']
