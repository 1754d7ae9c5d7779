"""The hook interface: the runner calls these methods at fixed points.

Method names and arguments are mmengine's, so a user's hook reads the same.
``priority`` orders hooks (lower runs first), with mmengine's named levels.
"""
from typing import Any, Dict, Iterable

from mmcls_ms.registry import did_you_mean

PRIORITIES = {'HIGHEST': 0, 'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50,
              'BELOW_NORMAL': 60, 'LOW': 70, 'VERY_LOW': 90, 'LOWEST': 100}


def priority_value(priority) -> int:
    if isinstance(priority, int):
        return priority
    if priority not in PRIORITIES:
        raise ValueError(f'Unknown hook priority {priority!r}; use an int or one of '
                         f'{list(PRIORITIES)}')
    return PRIORITIES[priority]


def check_hook_options(hook: str, options: Dict[str, Any], defaults_only: Dict[str, Any],
                       known: Iterable[str]) -> None:
    """Refuse the keyword arguments a hook would otherwise swallow.

    ``defaults_only`` maps arguments of the mmengine/mmpretrain hook that mmcls_ms
    accepts only at their default value (what it always does) to that value; any
    other value, and any key not in ``known`` or ``defaults_only``, is refused
    with ``hook`` (the hook, or where the config sets it) and the key named.

    Example:
        >>> check_hook_options('CheckpointHook', {'filename_tmpl': None},
        ...                    {'filename_tmpl': None}, ['interval'])
        >>> check_hook_options('CheckpointHook', {'intervl': 2}, {}, ['interval'])
        Traceback (most recent call last):
        ...
        TypeError: CheckpointHook: unknown key 'intervl'. Did you mean 'interval'? It takes interval.
    """
    for key, value in options.items():
        if key not in defaults_only:
            raise TypeError(f'{hook}: unknown key {key!r}.'
                            f'{did_you_mean(key, list(known) + list(defaults_only))} '
                            f'It takes {", ".join(known)}.')
        if value != defaults_only[key]:
            raise ValueError(f'{hook}: {key}={value!r} is not supported by mmcls_ms; remove '
                             f'it (only {defaults_only[key]!r}, the default, is).')


# mmengine's hook points, in the order of a run.  After ``runner`` each receives
# mmengine's arguments: ``batch_idx, data_batch=None`` (and ``outputs=None`` for
# the after_*_iter points), ``metrics=None`` for after_val_epoch/after_test_epoch,
# ``checkpoint`` for the two checkpoint points.
STAGES = ('before_run', 'after_load_checkpoint',
          'before_train', 'before_train_epoch', 'before_train_iter',
          'after_train_iter', 'after_train_epoch', 'after_train',
          'before_val', 'before_val_epoch', 'before_val_iter',
          'after_val_iter', 'after_val_epoch', 'after_val',
          'before_test', 'before_test_epoch', 'before_test_iter',
          'after_test_iter', 'after_test_epoch', 'after_test',
          'before_save_checkpoint', 'after_run')


def _unused_stage(self, runner, *args, **kwargs) -> None:
    """Does nothing: a hook overrides the stages it acts at."""


class Hook:
    """Base hook: every method of ``stages`` does nothing."""

    priority = 'NORMAL'
    stages = STAGES

    def every_n_train_iters(self, runner, n: int) -> bool:
        return n > 0 and (runner.iter + 1) % n == 0

    def every_n_epochs(self, runner, n: int) -> bool:
        return n > 0 and (runner.epoch + 1) % n == 0

    def is_last_train_iter(self, runner) -> bool:
        return runner.iter + 1 == runner.max_iters

    def end_of_epoch(self, runner, batch_idx: int) -> bool:
        return batch_idx + 1 == len(runner.train_dataloader)


for _stage in STAGES:
    setattr(Hook, _stage, _unused_stage)
