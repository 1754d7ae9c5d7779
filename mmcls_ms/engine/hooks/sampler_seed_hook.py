"""Give the training data of each epoch its own order on every rank."""
from mmcls_ms.registry import HOOKS
from .hook import Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Calls ``train_dataloader.set_epoch(epoch)`` before each epoch, so the
    shuffle (and the per-sample augmentation seeds) change every epoch."""

    priority = 'NORMAL'

    def before_train_epoch(self, runner):
        loader = runner.train_dataloader
        if hasattr(loader, 'set_epoch'):
            loader.set_epoch(runner.epoch)
