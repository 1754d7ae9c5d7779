from .dry_run import scheduled_lrs
from .param_scheduler import (ConstantLR, CosineAnnealingLR, ExponentialLR, LinearLR,
                              MultiStepLR, ParamGroups, PolyLR, StepLR, build_param_schedulers)

__all__ = ['ParamGroups', 'ConstantLR', 'LinearLR', 'StepLR', 'MultiStepLR', 'ExponentialLR',
           'CosineAnnealingLR', 'PolyLR', 'build_param_schedulers', 'scheduled_lrs']
