"""The learning rate of every training iteration, from the config alone.

The schedulers are the real ones, stepped as the runner steps them (the
iteration-based ones after every iteration, the epoch-based ones after every
epoch), with no model and no data: what ``tools/visualization/vis_scheduler.py``
plots.

Example:
    >>> lrs = scheduled_lrs(dict(type='StepLR', step_size=1, gamma=0.5),
    ...                     base_lr=0.1, epoch_length=2, max_epochs=3)
    >>> [round(v, 3) for v in lrs]
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
"""
from typing import List, Optional

from .param_scheduler import ParamGroups, build_param_schedulers


def scheduled_lrs(param_scheduler, base_lr: float, epoch_length: int,
                  max_epochs: Optional[int] = None, max_iters: Optional[int] = None,
                  by_epoch: bool = True) -> List[float]:
    """The learning rate each training iteration runs with.

    Args:
        param_scheduler: the config's ``param_scheduler`` (a dict, a list of
            dicts, or None for a constant rate).
        base_lr: the optimizer's ``lr``.
        epoch_length: iterations per epoch (the train dataloader's length).
        max_epochs: epochs of an epoch-based loop (``by_epoch=True``).
        max_iters: iterations of an iteration-based loop (``by_epoch=False``).
        by_epoch: the loop kind of ``train_cfg``.

    Returns:
        one value per iteration: ``max_epochs * epoch_length`` or ``max_iters``.
    """
    if not isinstance(epoch_length, int) or epoch_length < 1:
        raise ValueError(f'epoch_length must be a positive integer, got {epoch_length!r}.')
    total = max_epochs * epoch_length if by_epoch else max_iters
    if not isinstance(total, int) or total < 1:
        raise ValueError('The training length is unknown: train_cfg needs `max_epochs` '
                         '(by_epoch=True) or `max_iters` (by_epoch=False).')
    groups = ParamGroups([base_lr])
    schedulers = build_param_schedulers(param_scheduler, groups, epoch_length=epoch_length)
    lrs = []
    for it in range(total):
        lrs.append(groups.lrs[0])
        for scheduler in schedulers:
            if not scheduler.by_epoch:
                scheduler.step()
        if by_epoch and (it + 1) % epoch_length == 0:
            for scheduler in schedulers:
                if scheduler.by_epoch:
                    scheduler.step()
    return lrs
