"""Optimizer wrappers: the ``optim_wrapper`` part of a config.

They hold what the compiled training step needs besides the optimizer:
gradient clipping and, for mixed precision, the loss scale.

- ``OptimWrapper(optimizer, clip_grad=None, accumulative_counts=1)``:
  ``clip_grad=dict(max_norm=..)`` clips the global L2 norm of the gradients;
  ``accumulative_counts=N`` sums the gradients of N iterations (each loss
  divided by N) and updates once, with mmengine's bookkeeping: the count runs
  over the whole training, and the last incomplete group of the training is
  divided by its real size and still updates.
- ``AmpOptimWrapper(optimizer, loss_scale='dynamic', dtype='float16')``: runs
  the network in half precision (MindSpore ``amp_level`` O2: BN and the loss
  stay fp32) with a static (a number) or dynamic loss scale.  On CPU, where
  half-precision kernels are missing or slow, the network stays fp32 and the
  loss scaling still runs, so the recipe is exercised unchanged.

Example:
    >>> optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic',
    ...                      optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
"""
from typing import Optional, Union

from mmcls_ms.registry import OPTIM_WRAPPERS
from mmcls_ms.utils.config import ConfigValueError


def check_accumulative_counts(value, key: str = 'optim_wrapper.accumulative_counts') -> int:
    """``value`` if it is an int >= 1, else one error naming ``key``.

    Example:
        >>> check_accumulative_counts(0)
        Traceback (most recent call last):
        ...
        mmcls_ms.utils.config.ConfigValueError: optim_wrapper.accumulative_counts=0 must be an int >= 1 (the iterations summed per update).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigValueError(f'{key}={value!r} must be an int >= 1 (the iterations summed '
                               'per update).')
    return value


@OPTIM_WRAPPERS.register_module()
class OptimWrapper:
    """Plain training: fp32 and an optional gradient clip."""

    amp = False

    def __init__(self, optimizer, clip_grad: Optional[dict] = None,
                 accumulative_counts: int = 1):
        check_accumulative_counts(accumulative_counts)
        if clip_grad is not None:
            clip_grad = dict(clip_grad)
            if clip_grad.pop('type', 'norm') != 'norm' or 'max_norm' not in clip_grad:
                raise ValueError("optim_wrapper.clip_grad must be dict(max_norm=..., "
                                 "norm_type=2), clipping the global gradient norm.")
            if clip_grad.get('norm_type', 2) != 2:
                raise ValueError('optim_wrapper.clip_grad: only norm_type=2 is supported.')
        self.optimizer = optimizer
        self.clip_grad = clip_grad
        self.accumulative_counts = accumulative_counts
        self.max_counts = None

    def initialize_count_status(self, max_counts: int) -> None:
        """Set the number of iterations of the whole training (mmengine's
        ``max_counts``), which decides the size of the last group."""
        self.max_counts = int(max_counts)

    def loss_factor(self, count: int) -> float:
        """What the loss of iteration ``count`` (0-based, over the whole
        training) is divided by: N, or the size of the last, incomplete group.

        Example:
            >>> w = OptimWrapper(None, accumulative_counts=3)
            >>> w.initialize_count_status(20)
            >>> w.loss_factor(17), w.loss_factor(18)
            (3, 2)
        """
        n = self.accumulative_counts
        if n == 1 or self.max_counts is None:
            return n
        remainder = self.max_counts % n
        return n if count < self.max_counts - remainder else remainder

    def should_update(self, count: int) -> bool:
        """Whether iteration ``count`` (0-based) ends a group and updates.

        Example:
            >>> w = OptimWrapper(None, accumulative_counts=3)
            >>> w.initialize_count_status(20)
            >>> [c for c in range(20) if w.should_update(c)][-2:]
            [17, 19]
        """
        done = count + 1
        return done % self.accumulative_counts == 0 or done == self.max_counts

    @property
    def max_norm(self) -> Optional[float]:
        return None if self.clip_grad is None else float(self.clip_grad['max_norm'])


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Mixed precision with loss scaling (``loss_scale``: 'dynamic', a number,
    or dict(init_scale, growth_factor, backoff_factor, growth_interval))."""

    amp = True

    def __init__(self, optimizer, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: str = 'float16', amp_level: str = 'O2', **kwargs):
        super().__init__(optimizer, **kwargs)
        if loss_scale == 'dynamic':
            loss_scale = dict()
        if isinstance(loss_scale, dict):
            self.dynamic = True
            self.init_scale = float(loss_scale.get('init_scale', 2.0**16))
            self.growth_factor = float(loss_scale.get('growth_factor', 2.0))
            self.backoff_factor = float(loss_scale.get('backoff_factor', 0.5))
            self.growth_interval = int(loss_scale.get('growth_interval', 2000))
        elif isinstance(loss_scale, (int, float)) and loss_scale > 0:
            self.dynamic = False
            self.init_scale = float(loss_scale)
        else:
            raise ValueError("AmpOptimWrapper: `loss_scale` must be 'dynamic', a positive "
                             f'number or a dict, got {loss_scale!r}.')
        if dtype not in ('float16', 'bfloat16'):
            raise ValueError("AmpOptimWrapper: dtype must be 'float16' or 'bfloat16', "
                             f'got {dtype!r}')
        self.dtype = dtype
        self.amp_level = amp_level
