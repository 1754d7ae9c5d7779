"""Time each iteration and its data loading; the LoggerHook reports them."""
import time

from mmcls_ms.registry import HOOKS
from .hook import Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Records ``time`` (whole iteration) and ``data_time`` (waiting for data)."""

    priority = 'NORMAL'

    def _start(self, runner, batch_idx, data_batch=None):
        # data_time: from the end of the previous iteration to this one's start
        now = time.perf_counter()
        runner.update_scalars(data_time=now - self._last)
        self._iter_start = now

    def _stop(self, runner, batch_idx, data_batch=None, outputs=None):
        now = time.perf_counter()
        runner.update_scalars(time=now - self._last)
        self._last = now

    def _reset(self, runner, *args, **kwargs):
        self._last = time.perf_counter()

    before_train_epoch = before_val_epoch = before_test_epoch = _reset
    before_train_iter = before_val_iter = before_test_iter = _start
    after_train_iter = after_val_iter = after_test_iter = _stop
