"""The hook interface: the runner calls these methods at fixed points.

Method names and arguments are mmengine's, so a user's hook reads the same.
``priority`` orders hooks (lower runs first), with mmengine's named levels.
"""

PRIORITIES = {'HIGHEST': 0, 'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50,
              'BELOW_NORMAL': 60, 'LOW': 70, 'VERY_LOW': 90, 'LOWEST': 100}


def priority_value(priority) -> int:
    if isinstance(priority, int):
        return priority
    if priority not in PRIORITIES:
        raise ValueError(f'Unknown hook priority {priority!r}; use an int or one of '
                         f'{list(PRIORITIES)}')
    return PRIORITIES[priority]


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
