from .adamw import AdamW
from .base import BaseOptimizer, ParamGroup
from .builder import build_optimizer, check_optim_wrapper_cfg, param_groups
from .optim_wrapper import AmpOptimWrapper, OptimWrapper
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ['BaseOptimizer', 'ParamGroup', 'SGD', 'RMSprop', 'AdamW', 'build_optimizer',
           'check_optim_wrapper_cfg',
           'param_groups', 'OptimWrapper', 'AmpOptimWrapper']
