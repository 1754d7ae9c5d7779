"""Step the parameter schedulers after each iteration or epoch."""
from mmcls_ms.registry import HOOKS
from .hook import Hook


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Iteration-based schedulers step after every iteration, epoch-based ones
    after every epoch; the new learning rates go to the optimizer."""

    priority = 'LOW'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        runner.step_schedulers(by_epoch=False)

    def after_train_epoch(self, runner):
        runner.step_schedulers(by_epoch=True)
