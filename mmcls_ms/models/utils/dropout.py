"""Dropout whose masks are a function of (seed, step, layer): resumable exactly.

MindSpore's ``nn.Dropout`` draws its masks from a generator inside the kernel,
whose state no checkpoint holds, so a resumed run drops other units than the
uninterrupted run would have.  :class:`SeededDropout` behaves as ``nn.Dropout``
until the runner switches it to seeded masks (:func:`seed_dropout_layers`);
then the mask of each element is a hash of the run's seed, the training step,
the layer's name and the element's position in the *global* batch, so

- ``--resume`` continues with the very masks the uninterrupted run would use;
- ``N`` data-parallel ranks drop the same units as one process with the
  ``N`` times larger batch (the sampler deals sample ``j`` of a global batch to
  rank ``j % N``, row ``j // N``).

The hash (Chris Wellons' ``lowbias32``) runs in int32 on the device; its
uniform numbers have 24 bits.
"""
import zlib
from typing import Optional

import numpy as np
import mindspore as ms
from mindspore import Parameter, Tensor, nn, ops

# the key of the current training step: one value for the whole process, set by
# the runner before each step (a free parameter of every compiled graph)
_STEP_KEY = Parameter(Tensor(0, ms.int32), name='mmcls_ms_dropout_step_key',
                      requires_grad=False)

_M1 = 0x7feb352d
_M2 = 0x846ca68b - (1 << 32)  # as int32: the product wraps the same way as in uint32


def _shr(x, bits):
    """Logical right shift of int32 values (MindSpore's is arithmetic)."""
    return ops.bitwise_and(ops.bitwise_right_shift(x, bits), (1 << (32 - bits)) - 1)


def _mix(x):
    x = ops.bitwise_xor(x, _shr(x, 16)) * _M1
    x = ops.bitwise_xor(x, _shr(x, 15)) * _M2
    return ops.bitwise_xor(x, _shr(x, 16))


def _mix_np(x):
    x = np.asarray(x, np.uint32)
    x = (x ^ (x >> np.uint32(16))) * np.uint32(_M1)
    x = (x ^ (x >> np.uint32(15))) * np.uint32(0x846ca68b)
    return x ^ (x >> np.uint32(16))


def dropout_step_key(seed: int, step: int) -> int:
    """The int32 key of training ``step`` in a run seeded with ``seed``.

    Example:
        >>> dropout_step_key(0, 5) == dropout_step_key(0, 5) != dropout_step_key(0, 6)
        True
    """
    with np.errstate(over='ignore'):
        key = _mix_np(_mix_np(np.uint32(seed & 0xFFFFFFFF)) ^ np.uint32(step & 0xFFFFFFFF))
    return int(np.asarray(key, np.uint32).view(np.int32))


def set_dropout_step(seed: int, step: int) -> None:
    """Select the masks of training ``step``; the runner calls it before each step.

    Example:
        >>> set_dropout_step(seed=0, step=0)
    """
    ops.assign(_STEP_KEY, Tensor(dropout_step_key(seed, step), ms.int32))


def seed_dropout_layers(model: nn.Cell, rank: int = 0, world_size: int = 1) -> int:
    """Switch every :class:`SeededDropout` of ``model`` to seeded masks, keyed by its
    name in ``model``; returns how many.  Call before the first compile.

    Example:
        >>> seed_dropout_layers(nn.SequentialCell([SeededDropout(p=0.5)]))
        1
    """
    count = 0
    for name, cell in model.cells_and_names():
        if isinstance(cell, SeededDropout):
            cell.layer_key = int(np.uint32(zlib.crc32(name.encode())).view(np.int32))
            cell.rank, cell.world_size = int(rank), int(world_size)
            cell.seeded = True
            count += 1
    return count


class SeededDropout(nn.Cell):
    """``nn.Dropout(p)`` that can draw its masks from (seed, step, layer).

    Args:
        p: the probability of zeroing an element, in [0, 1).

    Example:
        >>> drop = SeededDropout(p=0.5)
        >>> drop.set_train(False)(ms.Tensor(np.ones((2, 3), np.float32))).shape
        (2, 3)
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f'dropout p must be in [0, 1), got {p}')
        self.p = float(p)
        self.keep = 1.0 - self.p
        # 24-bit threshold: keep an element when its uniform number is >= p
        self.threshold = int(round(self.p * (1 << 24)))
        self.kernel_dropout = nn.Dropout(p=self.p) if self.p > 0 else None
        self.seeded = False
        self.layer_key: Optional[int] = 0
        self.rank, self.world_size = 0, 1

    def construct(self, x):
        if not self.training or self.p == 0:
            return x
        if not self.seeded:
            return self.kernel_dropout(x)
        batch = x.shape[0]
        per_sample = x.size // batch
        # the row of each local sample in the global batch, then the element
        rows = ops.arange(0, batch, dtype=ms.int32) * self.world_size + self.rank
        index = (rows.reshape((batch, 1)) * per_sample
                 + ops.arange(0, per_sample, dtype=ms.int32).reshape((1, per_sample)))
        bits = _mix(index + _mix(_STEP_KEY + self.layer_key))
        keep = _shr(bits, 8) >= self.threshold
        mask = ops.stop_gradient(ops.cast(keep, x.dtype) / self.keep)
        return x * mask.reshape(x.shape)
