"""Batch augments (``model.train_cfg.augments``): Mixup, CutMix and ResizeMix on a whole
training batch, mixing its one-hot targets into soft targets."""
from .cutmix import CutMix
from .mixup import Mixup
from .resizemix import ResizeMix
from .wrapper import RandomBatchAugment, labels_to_onehot

__all__ = ['CutMix', 'Mixup', 'RandomBatchAugment', 'ResizeMix', 'labels_to_onehot']
