"""Losses: ``loss(cls_score, int_labels) -> scalar``."""
from .cross_entropy_loss import CrossEntropyLoss
from .label_smooth_loss import LabelSmoothLoss

__all__ = ['CrossEntropyLoss', 'LabelSmoothLoss']
