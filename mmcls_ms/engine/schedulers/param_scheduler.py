"""Learning-rate schedulers with mmengine's semantics.

Each scheduler updates ``param_groups[i]['lr']`` of a :class:`ParamGroups`
in place, in mmengine's *chainable* form: the new value is derived from the
current one, so several schedulers compose (a ``LinearLR`` warmup followed by a
``CosineAnnealingLR``).  A scheduler acts while ``begin <= step < end``; its
``step()`` is called after every iteration (``by_epoch=False``) or after every
epoch (``by_epoch=True``) by the ``ParamSchedulerHook``.  Constructing a
scheduler applies its step-0 value, as mmengine does.

Epoch-based schedulers can be turned into iteration-based ones with
``convert_to_iter_based=True`` in the config; the runner then calls
:meth:`build_iter_based` with the epoch length.

Example:
    >>> groups = ParamGroups([0.1])
    >>> warmup = LinearLR(groups, start_factor=0.1, begin=0, end=5)
    >>> round(groups.lrs[0], 4)
    0.01
"""
import math
from abc import ABC, abstractmethod
from collections import Counter
from typing import List, Optional, Sequence, Union

from mmcls_ms.registry import PARAM_SCHEDULERS
from mmcls_ms.utils.arg_checks import check_interval

INF = int(1e9)


class ParamGroups:
    """The scheduled state: one dict per optimizer parameter group.

    Each group holds its current ``lr`` and its ``initial_lr`` (the value
    before any scheduler ran).
    """

    def __init__(self, initial_lrs: Sequence[float]):
        self.param_groups = [dict(lr=float(lr), initial_lr=float(lr)) for lr in initial_lrs]

    @property
    def lrs(self) -> List[float]:
        return [group['lr'] for group in self.param_groups]

    def reset(self) -> None:
        for group in self.param_groups:
            group['lr'] = group['initial_lr']


class _ParamScheduler(ABC):
    """Base class: step counting and the active window ``[begin, end)``."""

    param_name = 'lr'

    def __init__(self, groups: ParamGroups, begin: int = 0, end: int = INF,
                 by_epoch: bool = True):
        if not isinstance(groups, ParamGroups):
            raise TypeError(f'{type(self).__name__} schedules a ParamGroups, '
                            f'got {type(groups).__name__}')
        if end <= begin:
            raise ValueError(f'{type(self).__name__}: `end` ({end}) must be larger than '
                             f'`begin` ({begin}).')
        self.groups = groups
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self.base_values = [g[f'initial_{self.param_name}'] for g in groups.param_groups]
        self.last_step = -1
        self._global_step = -1
        self.step()

    @property
    def total_iters(self) -> int:
        """The steps after the first one inside the window (mmengine's ``end - begin - 1``)."""
        return self.end - self.begin - 1

    @classmethod
    def build_iter_based(cls, *args, epoch_length: int, begin=0, end=INF,
                         by_epoch=True, **kwargs):
        """Build an iteration-based scheduler from epoch-based arguments."""
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'`epoch_length` must be a positive integer, got {epoch_length}')
        kwargs = cls._scale_epoch_args(kwargs, epoch_length)
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    @staticmethod
    def _scale_epoch_args(kwargs: dict, epoch_length: int) -> dict:
        return kwargs

    @property
    def _values(self):
        return [g[self.param_name] for g in self.groups.param_groups]

    @abstractmethod
    def _get_value(self) -> List[float]:
        """The new value of every group, in chainable form."""

    def step(self) -> None:
        """Advance one step and update the groups when inside the window."""
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            for group, value in zip(self.groups.param_groups, self._get_value()):
                group[self.param_name] = value

    def state_dict(self) -> dict:
        return dict(last_step=self.last_step, _global_step=self._global_step)

    def load_state_dict(self, state: dict) -> None:
        self.last_step = state['last_step']
        self._global_step = state['_global_step']


@PARAM_SCHEDULERS.register_module()
class ConstantLR(_ParamScheduler):
    """Multiply the lr by ``factor`` until ``end``, then restore it."""

    def __init__(self, groups, factor: float = 1.0 / 3, begin=0, end=INF, by_epoch=True):
        self.factor = check_interval(factor, '(0, 1]', 'ConstantLR: `factor`')
        super().__init__(groups, begin, end, by_epoch)

    def _get_value(self):
        if self.last_step == 0:
            return [v * self.factor for v in self._values]
        if self.last_step == self.total_iters:
            return [v / self.factor for v in self._values]
        return self._values


@PARAM_SCHEDULERS.register_module()
class LinearLR(_ParamScheduler):
    """Linear warmup: the factor goes from ``start_factor`` to ``end_factor``
    over ``end - begin - 1`` steps."""

    def __init__(self, groups, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 begin=0, end=INF, by_epoch=True):
        self.start_factor = check_interval(start_factor, '(0, 1]', 'LinearLR: `start_factor`')
        self.end_factor = check_interval(end_factor, '[0, 1]', 'LinearLR: `end_factor`')
        super().__init__(groups, begin, end, by_epoch)

    def _get_value(self):
        if self.last_step == 0:
            return [v * self.start_factor for v in self._values]
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor
                               + (self.last_step - 1) * delta)
        return [v * ratio for v in self._values]


@PARAM_SCHEDULERS.register_module()
class StepLR(_ParamScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    def __init__(self, groups, step_size: int, gamma: float = 0.1, begin=0, end=INF,
                 by_epoch=True):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(groups, begin, end, by_epoch)

    @staticmethod
    def _scale_epoch_args(kwargs, epoch_length):
        return dict(kwargs, step_size=kwargs['step_size'] * epoch_length)

    def _get_value(self):
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._values
        return [v * self.gamma for v in self._values]


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(_ParamScheduler):
    """Multiply the lr by ``gamma`` at each milestone."""

    def __init__(self, groups, milestones: Sequence[int], gamma: float = 0.1, begin=0,
                 end=INF, by_epoch=True):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(groups, begin, end, by_epoch)

    @staticmethod
    def _scale_epoch_args(kwargs, epoch_length):
        return dict(kwargs, milestones=[m * epoch_length for m in kwargs['milestones']])

    def _get_value(self):
        if self.last_step not in self.milestones:
            return self._values
        return [v * self.gamma**self.milestones[self.last_step] for v in self._values]

    def state_dict(self):
        return dict(super().state_dict())


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(_ParamScheduler):
    """Multiply the lr by ``gamma`` every step."""

    def __init__(self, groups, gamma: float, begin=0, end=INF, by_epoch=True):
        self.gamma = gamma
        super().__init__(groups, begin, end, by_epoch)

    def _get_value(self):
        if self.last_step == 0:
            return self._values
        return [v * self.gamma for v in self._values]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(_ParamScheduler):
    """Cosine annealing from the current lr to ``eta_min`` over ``T_max`` steps:
    ``eta_t = eta_min + (eta_max - eta_min) * (1 + cos(pi * t / T_max)) / 2``."""

    def __init__(self, groups, T_max: Optional[int] = None, eta_min: Optional[float] = None,
                 begin=0, end=INF, by_epoch=True, eta_min_ratio: Optional[float] = None):
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError('CosineAnnealingLR: give either `eta_min` or `eta_min_ratio`.')
        if T_max is None and end == INF:
            raise ValueError('CosineAnnealingLR needs `T_max` or a finite `end`.')
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(groups, begin, end, by_epoch)

    @staticmethod
    def _scale_epoch_args(kwargs, epoch_length):
        if kwargs.get('T_max') is not None:
            kwargs = dict(kwargs, T_max=kwargs['T_max'] * epoch_length)
        return kwargs

    def _eta_min(self, base_value):
        return self.eta_min if self.eta_min_ratio is None else base_value * self.eta_min_ratio

    def _get_value(self):
        t, T = self.last_step, self.T_max
        if t == 0:
            return self._values
        if (t - 1 - T) % (2 * T) == 0:
            return [v + (base - self._eta_min(base)) * (1 - math.cos(math.pi / T)) / 2
                    for base, v in zip(self.base_values, self._values)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (v - self._eta_min(base)) + self._eta_min(base)
                for base, v in zip(self.base_values, self._values)]


@PARAM_SCHEDULERS.register_module()
class PolyLR(_ParamScheduler):
    """Polynomial decay to ``eta_min`` with ``power``."""

    def __init__(self, groups, eta_min: float = 0., power: float = 1.0, begin=0, end=INF,
                 by_epoch=True):
        self.eta_min = eta_min
        self.power = power
        super().__init__(groups, begin, end, by_epoch)

    def _get_value(self):
        if self.last_step == 0:
            return self._values
        factor = (1 - 1 / (self.total_iters - self.last_step + 1))**self.power
        return [(v - self.eta_min) * factor + self.eta_min for v in self._values]


def build_param_schedulers(cfgs: Union[dict, Sequence[dict]], groups: ParamGroups,
                           epoch_length: int) -> list:
    """Build the schedulers of ``param_scheduler`` (a dict or a list of dicts).

    ``convert_to_iter_based=True`` turns an epoch-based scheduler into an
    iteration-based one, given ``epoch_length`` iterations per epoch.

    Example:
        >>> groups = ParamGroups([0.1])
        >>> scheds = build_param_schedulers(
        ...     [dict(type='LinearLR', start_factor=0.1, end=2, by_epoch=True,
        ...           convert_to_iter_based=True),
        ...      dict(type='CosineAnnealingLR', T_max=8, begin=2, end=10)],
        ...     groups, epoch_length=5)
    """
    if cfgs is None:
        return []
    if isinstance(cfgs, dict):
        cfgs = [cfgs]
    schedulers = []
    for cfg in cfgs:
        cfg = dict(cfg)
        type_name = cfg.pop('type')
        cls = PARAM_SCHEDULERS.get(type_name)
        if cls is None:
            # go through build() for the helpful "did you mean" error
            PARAM_SCHEDULERS.build(dict(type=type_name))
        convert = cfg.pop('convert_to_iter_based', False)
        cfg.setdefault('by_epoch', True)
        if convert and cfg['by_epoch']:
            schedulers.append(cls.build_iter_based(groups, epoch_length=epoch_length, **cfg))
        else:
            schedulers.append(cls(groups, **cfg))
    return schedulers
