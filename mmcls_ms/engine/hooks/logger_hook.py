"""Progress bars, readable log lines, and scalars for the visualizer.

Every ``interval`` training iterations it logs, in mmengine's format::

    Epoch(train) [2][ 40/100]  lr: 9.5000e-03  eta: 0:01:12  time: 0.1210  data_time: 0.0020  loss: 0.4122

and hands ``{"lr": ..., "loss": ..., "epoch": 2, "iter": 140}`` at step 140 to
``runner.visualizer``, whose ``LocalVisBackend`` appends it with ``"step"`` to
``<work_dir>/<timestamp>/vis_data/scalars.json`` (and ``TensorboardVisBackend``
to an event file).  Validation results follow with the epoch (or iteration)
as the step.  A rich progress bar shows the current epoch and validation.
"""
import datetime

import numpy as np

from mmcls_ms.registry import HOOKS
from mmcls_ms.utils.progress import make_progress
from .hook import Hook


def _fmt(name, value):
    if name in ('lr', 'base_lr') or name.endswith('lr'):
        return f'{name}: {value:.4e}'
    if isinstance(value, (float, np.floating)):
        return f'{name}: {value:.4f}'
    return f'{name}: {value}'


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log training and evaluation progress.

    Args:
        interval: log every this many training iterations.
        ignore_last: do not log the last, incomplete interval of an epoch.
        progress_bar: draw rich progress bars (off on ranks other than 0).
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 10, ignore_last: bool = True, progress_bar: bool = True,
                 log_metric_by_epoch: bool = True):
        self.interval = interval
        self.ignore_last = ignore_last
        self.progress_bar = progress_bar
        self.log_metric_by_epoch = log_metric_by_epoch
        self._progress = None
        self._task = None

    # ---------------------------------------------------------------- helpers
    def _start_bar(self, runner, description, total):
        if not self.progress_bar or runner.rank != 0:
            return
        self._stop_bar()
        self._progress = make_progress(transient=False)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, status='')

    def _advance_bar(self, status=''):
        if self._progress is not None:
            self._progress.update(self._task, advance=1, status=status)

    def _stop_bar(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # ---------------------------------------------------------------- training
    def before_train_epoch(self, runner):
        if runner.train_loop.by_epoch:
            self._start_bar(runner, f'Epoch {runner.epoch + 1}/{runner.max_epochs}',
                            len(runner.train_dataloader))
        elif self._progress is None:
            self._start_bar(runner, 'Train', runner.max_iters)
            self._progress.update(self._task, completed=runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        loss = runner.scalars.get('loss', [float('nan')])[-1]
        self._advance_bar(f'loss {loss:.4f}')
        by_epoch = runner.train_loop.by_epoch
        last_of_epoch = by_epoch and self.end_of_epoch(runner, batch_idx)
        # epoch-based runs count within the epoch, as mmengine does
        counter = batch_idx + 1 if by_epoch else runner.iter + 1
        if not (counter % self.interval == 0
                or (last_of_epoch and not self.ignore_last)
                or self.is_last_train_iter(runner)):
            return
        values = runner.pop_window()
        if runner.train_loop.by_epoch:
            total = len(runner.train_dataloader)
            width = len(str(total))
            head = (f'Epoch(train) [{runner.epoch + 1}][{batch_idx + 1:>{width}}/{total}]')
        else:
            width = len(str(runner.max_iters))
            head = f'Iter(train) [{runner.iter + 1:>{width}}/{runner.max_iters}]'
        eta = self._eta(runner, values.get('time'))
        ordered = ['lr'] + [k for k in ('time', 'data_time') if k in values] + sorted(
            k for k in values if k not in ('lr', 'time', 'data_time'))
        parts = [head, _fmt('lr', runner.current_lr())]
        if eta is not None:
            parts.append(f'eta: {eta}')
        parts += [_fmt(k, values[k]) for k in ordered[1:]]
        runner.logger.info('  '.join(parts))
        record = dict(values, lr=runner.current_lr(), epoch=runner.epoch + 1,
                      iter=runner.iter + 1)
        runner.visualizer.add_scalars(record, step=runner.iter + 1)

    def _eta(self, runner, iter_time):
        if iter_time is None:
            return None
        remaining = runner.max_iters - runner.iter - 1
        return str(datetime.timedelta(seconds=int(iter_time * remaining)))

    def after_train_epoch(self, runner):
        self._stop_bar()

    def after_train(self, runner):
        self._stop_bar()

    def after_run(self, runner):
        runner.visualizer.close()

    # ---------------------------------------------------------------- evaluation
    def before_val_epoch(self, runner):
        self._paused = self._progress
        self._progress = None
        self._start_bar(runner, 'Val', len(runner.val_dataloader))

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._advance_bar()

    def after_val_epoch(self, runner, metrics=None):
        self._stop_bar()
        self._progress = getattr(self, '_paused', None)
        self._log_metrics(runner, 'val', metrics or {})

    def before_test_epoch(self, runner):
        self._start_bar(runner, 'Test', len(runner.test_dataloader))

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._advance_bar()

    def after_test_epoch(self, runner, metrics=None):
        self._stop_bar()
        self._log_metrics(runner, 'test', metrics or {})

    def _log_metrics(self, runner, mode, metrics):
        scalars = {k: v for k, v in metrics.items() if np.ndim(v) == 0}
        loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
        total = len(loader)
        if mode == 'val' and runner.train_loop is not None and runner.train_loop.by_epoch:
            head = f'Epoch({mode}) [{runner.epoch}][{total}/{total}]'
            step = runner.epoch
        elif mode == 'val' and runner.train_loop is not None:
            head = f'Iter({mode}) [{total}/{total}]'
            step = runner.iter
        else:
            head = f'Epoch({mode}) [{total}/{total}]'
            step = 0
        runner.logger.info('  '.join([head] + [_fmt(k, float(v)) for k, v in scalars.items()]))
        if mode == 'val':
            runner.visualizer.add_scalars(scalars, step=step)
