"""``RepeatAugSampler``: repeated augmentation (Hoffer et al., "Augment your
batch", arXiv 1901.09335), mmpretrain 1.x's sampler of the same name.

Each epoch the (shuffled) indices are each repeated ``num_repeats`` times in a
row, padded from the start to a multiple of the world size, and rank ``r``
takes every ``W``-th element from ``r`` (so the copies of one image land on
different ranks) and keeps the first ``ceil(N / W)``.  With one rank an epoch
therefore shows about ``N / num_repeats`` distinct images, each
``num_repeats`` times.  Every copy is augmented with its own generator (the
loader asks :meth:`copy_ids`), so the copies differ.
"""
import math
from typing import Optional, Sized, Union

import numpy as np

from mmcls_ms.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class RepeatAugSampler:
    """Per-epoch order with repeated augmentation, sharded by rank.

    Args:
        dataset: the dataset (or its length).
        shuffle: shuffle with ``numpy.random.default_rng([seed, epoch])``.
        num_repeats: copies of each image, >= 1.
        seed: the order seed (the loader passes the run's seed).
        rank, world_size: this process's shard (the loader passes them).

    Example:
        >>> RepeatAugSampler(4, shuffle=False, num_repeats=3).indices(0).tolist()
        [0, 0, 0, 1]
        >>> RepeatAugSampler(4, shuffle=False, num_repeats=3, rank=1, world_size=2
        ...                  ).indices(0).tolist()
        [0, 1]
    """

    def __init__(self, dataset: Union[Sized, int], shuffle: bool = True, num_repeats: int = 3,
                 seed: Optional[int] = 0, rank: int = 0, world_size: int = 1):
        if isinstance(num_repeats, bool) or not isinstance(num_repeats, int) or num_repeats < 1:
            raise ValueError(f'RepeatAugSampler num_repeats must be an int >= 1, got '
                             f'{num_repeats!r}.')
        if not 0 <= rank < world_size:
            raise ValueError(f'RepeatAugSampler: rank {rank} is not in [0, {world_size}).')
        self.num_samples_total = dataset if isinstance(dataset, int) else len(dataset)
        self.shuffle = shuffle
        self.num_repeats = num_repeats
        self.seed = 0 if seed is None else int(seed)
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self):
        return math.ceil(self.num_samples_total / self.world_size)

    def _positions(self, epoch):
        """This rank's positions in the repeated, padded order of ``epoch``."""
        n, w = self.num_samples_total, self.world_size
        total = math.ceil(n * self.num_repeats / w) * w
        return (np.arange(self.rank, total, w) % (n * self.num_repeats))[:len(self)]

    def indices(self, epoch: Optional[int] = None) -> np.ndarray:
        """The sample indices of this rank in ``epoch`` (default: current)."""
        epoch = self.epoch if epoch is None else epoch
        n = self.num_samples_total
        if n == 0:
            return np.zeros(0, np.int64)
        if self.shuffle:
            order = np.random.default_rng([self.seed % (1 << 64), int(epoch)]).permutation(n)
        else:
            order = np.arange(n)
        return order[self._positions(epoch) // self.num_repeats].astype(np.int64)

    def copy_ids(self, epoch: Optional[int] = None) -> np.ndarray:
        """Which copy (0..num_repeats-1) of its image each index of
        :meth:`indices` is: the copies get different augmentation."""
        epoch = self.epoch if epoch is None else epoch
        if self.num_samples_total == 0:
            return np.zeros(0, np.int64)
        return (self._positions(epoch) % self.num_repeats).astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __repr__(self):
        return (f'{type(self).__name__}(shuffle={self.shuffle}, num_repeats={self.num_repeats}, '
                f'seed={self.seed}, rank={self.rank}, world_size={self.world_size})')
