"""``PreciseBNHook``: recompute the BN running statistics as the average over
many training batches (Wu & Johnson, "Rethinking 'Batch' in BatchNorm",
arXiv 2105.07576), mmpretrain's hook with the same arguments.

Every BN layer in training mode gets, for each of the batches, the statistics
of that batch alone: its running mean and variance are zeroed before the
forward pass, so afterwards they hold ``momentum * batch`` (``momentum`` the
weight of the batch, in the PyTorch convention every mmcls_ms BN exposes) and
dividing by it gives the batch's statistics exactly.  Their mean over the
batches (and over the ranks) becomes the running statistics.
"""
from typing import List

import numpy as np
from mindspore import Tensor

from mmcls_ms.registry import HOOKS
from .hook import Hook


def training_bn_layers(model) -> List:
    """The BN layers of ``model`` in training mode (any layer with running
    statistics and a momentum: MindSpore's BN, SyncBN, the fused BN-ReLU)."""
    return [cell for _, cell in model.cells_and_names()
            if cell.training and hasattr(cell, 'moving_mean')
            and hasattr(cell, 'moving_variance') and hasattr(cell, 'momentum')]


def update_bn_stats(model, batches, world_size: int = 1) -> int:
    """Set the running statistics of ``model``'s training-mode BN layers to
    their average over ``batches`` (uint8 image arrays); returns how many ran.

    Example:
        >>> update_bn_stats(model, [batch['inputs'] for batch in loader])  # doctest: +SKIP
        25
    """
    layers = training_bn_layers(model)
    sums = [[np.zeros(l.moving_mean.shape, np.float64) for _ in range(2)] for l in layers]
    count = 0
    for inputs in batches:
        for layer in layers:
            # two tensors: set_data may keep the tensor's memory, and one shared
            # zero tensor would make the mean and the variance one buffer
            layer.moving_mean.set_data(Tensor(np.zeros(layer.moving_mean.shape, np.float32)))
            layer.moving_variance.set_data(Tensor(np.zeros(layer.moving_mean.shape, np.float32)))
        model(Tensor(inputs))
        for layer, (mean, var) in zip(layers, sums):
            weight = float(layer.momentum)
            mean += layer.moving_mean.asnumpy() / weight
            var += layer.moving_variance.asnumpy() / weight
        count += 1
    flat = np.concatenate([np.concatenate([m, v]) for m, v in sums] + [[count]])
    if world_size > 1:
        # at call time: the runner package imports the hooks
        from mmcls_ms.engine.runner import dist
        flat = dist.all_reduce_sum(flat).astype(np.float64)
    total = flat[-1]
    offset = 0
    for layer in layers:
        n = layer.moving_mean.shape[0]
        mean, var = flat[offset:offset + n], flat[offset + n:offset + 2 * n]
        offset += 2 * n
        # mmpretrain's edge case: no batch at all leaves zeros
        mean, var = (mean / total, var / total) if total else (mean * 0, var * 0)
        layer.moving_mean.set_data(Tensor(mean.astype(np.float32)))
        layer.moving_variance.set_data(Tensor(var.astype(np.float32)))
    return count


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Recompute the BN statistics over ``num_samples`` training images every
    ``interval`` epochs (or iterations, for an iteration-based loop).

    Args:
        num_samples: images to average over, across all ranks; the number of
            batches is ``min(num_samples // (batch_size * world_size),
            len(train_dataloader))``.
        interval: how often.

    Example:
        >>> custom_hooks = [dict(type='PreciseBNHook', num_samples=8192, interval=1,
        ...                      priority='ABOVE_NORMAL')]
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_samples: int = 8192, interval: int = 1):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f'PreciseBNHook num_samples must be an int >= 1, got '
                             f'{num_samples!r}.')
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'PreciseBNHook interval must be an int >= 1, got {interval!r}.')
        self.num_samples = num_samples
        self.interval = interval

    def _run(self, runner):
        loader = runner.train_dataloader
        num_batches = min(self.num_samples // (loader.batch_size * runner.world_size),
                          len(loader))
        batches = (batch['inputs'] for _, batch in zip(range(num_batches), loader))
        done = update_bn_stats(runner.model, batches, runner.world_size)
        runner.logger.info(f'PreciseBN: BN statistics averaged over {done} batches '
                           f'({done * loader.batch_size * runner.world_size} images).')

    def after_train_epoch(self, runner):
        if runner.train_loop.by_epoch and self.every_n_epochs(runner, self.interval):
            self._run(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not runner.train_loop.by_epoch and self.every_n_train_iters(runner, self.interval):
            self._run(runner)
