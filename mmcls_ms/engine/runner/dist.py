"""Data-parallel plumbing on MindSpore's communication layer (msrun).

``init_dist('msrun')`` calls ``mindspore.communication.init()`` and sets the
data-parallel context (gradients averaged).  The helpers below exchange small
host values between ranks: a shared seed, and the evaluation results.
"""
import mindspore as ms
import numpy as np
from mindspore import Tensor, ops
from mindspore.communication import get_group_size, get_rank, init


def init_dist(launcher: str) -> tuple:
    """Initialise communication for ``launcher`` and return ``(rank, world_size)``."""
    if launcher in (None, 'none'):
        return 0, 1
    if launcher != 'msrun':
        raise ValueError(f"launcher must be 'none' or 'msrun', got {launcher!r}")
    try:
        init()
    except Exception as err:  # not started by msrun: say how to start it
        raise RuntimeError(
            f'--launcher msrun could not initialise communication ({err}). Start the job '
            'with tools/dist_train.sh / tools/dist_test.sh (they call msrun), or drop '
            '--launcher for a single process.') from err
    rank, world_size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL,
                                 gradients_mean=True, device_num=world_size)
    return rank, world_size


def all_reduce_sum(array: np.ndarray) -> np.ndarray:
    """Sum a float32 array over ranks (MindSpore's CPU AllReduce takes floats only)."""
    return ops.AllReduce(ops.ReduceOp.SUM)(Tensor(np.asarray(array, np.float32))).asnumpy()


def broadcast_seed(seed: int, rank: int) -> int:
    """Rank 0's seed on every rank (sent as two exact 16-bit halves)."""
    halves = np.array([seed >> 16, seed & 0xFFFF] if rank == 0 else [0, 0], np.float32)
    high, low = (int(round(v)) for v in all_reduce_sum(halves))
    return (high << 16) | low


def all_gather_padded(array: np.ndarray, world_size: int, fill) -> np.ndarray:
    """Gather arrays of different lengths (first axis) from all ranks.

    Values travel as float32, exact for the integers used here (labels and
    sample indices below 2**24) and for the scores themselves.
    """
    counts = all_reduce_sum(np.eye(world_size, dtype=np.float32)[_rank()] * len(array))
    counts = counts.round().astype(np.int64)
    longest = int(counts.max())
    padded = np.full((longest,) + array.shape[1:], fill, dtype=np.float32)
    padded[:len(array)] = array
    gathered = ops.AllGather()(Tensor(padded)).asnumpy()
    pieces = [gathered[r * longest:r * longest + int(counts[r])] for r in range(world_size)]
    return np.concatenate(pieces).astype(array.dtype)


def _rank() -> int:
    return get_rank()


def make_eval_gather(world_size: int):
    """The evaluator's ``gather_fn`` for ``world_size`` ranks (None for one)."""
    if world_size <= 1:
        return None

    def gather(scores, labels, gts, idx):
        return (all_gather_padded(scores, world_size, 0), all_gather_padded(labels, world_size, 0),
                all_gather_padded(gts, world_size, 0), all_gather_padded(idx, world_size, -1))

    return gather
