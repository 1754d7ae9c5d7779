"""``DefaultSampler``: which sample indices a rank reads in an epoch."""
import math
from typing import Any, Optional

import numpy as np

from mmcls_ms.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class DefaultSampler:
    """Per-epoch order of a dataset, sharded by rank.

    The order depends only on ``(seed, epoch)``: shuffled with
    ``numpy.random.default_rng([seed, epoch])`` when ``shuffle``, else
    ``0..N-1``.  Rank ``r`` of ``W`` takes positions ``r, r + W, r + 2W, ...``.

    - ``round_up=True`` (training): the order is padded by repeating its start
      so that every rank gets ``ceil(N / W)`` samples.
    - ``round_up=False`` (evaluation): no sample is duplicated; ranks may
      differ in length by one.

    ``round_up`` defaults to ``shuffle`` (so a ``shuffle=False`` validation
    sampler never duplicates).

    Example:
        >>> DefaultSampler(5, shuffle=False, rank=1, world_size=2).indices(0)
        array([1, 3])
    """

    def __init__(self, dataset: Any, shuffle: bool = True, seed: int = 0,
                 round_up: Optional[bool] = None, rank: int = 0, world_size: int = 1):
        self.num_samples_total = dataset if isinstance(dataset, int) else len(dataset)
        if not 0 <= rank < world_size:
            raise ValueError(f'DefaultSampler: rank {rank} is not in [0, {world_size}).')
        self.shuffle = shuffle
        self.seed = 0 if seed is None else int(seed)
        self.round_up = shuffle if round_up is None else round_up
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self):
        n, w = self.num_samples_total, self.world_size
        if self.round_up:
            return math.ceil(n / w)
        return len(range(self.rank, n, w))

    def indices(self, epoch: Optional[int] = None) -> np.ndarray:
        """The sample indices of this rank in ``epoch`` (default: current)."""
        epoch = self.epoch if epoch is None else epoch
        n = self.num_samples_total
        if self.shuffle:
            order = np.random.default_rng([self.seed % (1 << 64), int(epoch)]).permutation(n)
        else:
            order = np.arange(n)
        if self.round_up and n:
            total = math.ceil(n / self.world_size) * self.world_size
            order = np.resize(order, total)  # np.resize repeats from the start
        return order[self.rank::self.world_size].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __repr__(self):
        return (f'{type(self).__name__}(shuffle={self.shuffle}, seed={self.seed}, '
                f'round_up={self.round_up}, rank={self.rank}, world_size={self.world_size})')


@DATA_SAMPLERS.register_module()
class InfiniteSampler(DefaultSampler):
    """mmengine's name for the sampler of iteration-based training.

    The loader already cycles epochs (``IterBasedTrainLoop`` calls
    ``set_epoch``), so this is a ``DefaultSampler`` that pads every rank
    (``round_up=True``) and reshuffles per epoch.

    Example:
        >>> len(InfiniteSampler(10, world_size=3))
        4
    """

    def __init__(self, dataset: Any, shuffle: bool = True, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=True, rank=rank,
                         world_size=world_size)
