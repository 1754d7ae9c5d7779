"""What every mmcls_ms optimizer shares: per-parameter lr and weight decay.

An optimizer is an ``nn.Cell`` whose ``construct(grads)`` updates the
parameters in place, so that it compiles into the training step's graph.

The learning rate of each parameter lives in one ``Parameter`` vector,
``param_lrs``, that the parameter schedulers rewrite from Python between steps
(one entry per parameter, expanded from the per-group values).  Weight decay
per parameter is a constant vector.  Groups come from ``paramwise_cfg``
(``lr_mult`` / ``decay_mult``); see :mod:`.builder`.
"""
from typing import List, Sequence

import mindspore as ms
import numpy as np
from mindspore import Parameter, ParameterTuple, Tensor, nn, ops


class ParamGroup:
    """The parameters that share one lr multiplier and one weight decay."""

    def __init__(self, params: list, lr_mult: float = 1.0, weight_decay: float = 0.0):
        self.params = params
        self.lr_mult = lr_mult
        self.weight_decay = weight_decay


class BaseOptimizer(nn.Cell):
    """Holds the parameters, their group index, lr vector and weight decays.

    Args:
        params: a list of trainable Parameters, or a list of :class:`ParamGroup`.
        lr: the base learning rate.
        weight_decay: the default weight decay for a plain parameter list.
    """

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        super().__init__(auto_prefix=False)
        groups = self._as_groups(params, weight_decay)
        flat, group_index, decays = [], [], []
        for i, group in enumerate(groups):
            for param in group.params:
                flat.append(param)
                group_index.append(i)
                decays.append(group.weight_decay)
        if not flat:
            raise ValueError(f'{type(self).__name__} got no trainable parameters to optimize.')
        self.base_lr = float(lr)
        self.groups = groups
        self.group_index = np.asarray(group_index, dtype=np.int64)
        self.parameters = ParameterTuple(flat)
        self.param_lrs = Parameter(Tensor(np.zeros(len(flat), np.float32)), name='param_lrs',
                                   requires_grad=False)
        self.weight_decays = Tensor(np.asarray(decays, np.float32))
        self.set_group_lrs([self.base_lr * g.lr_mult for g in groups])
        self.hyper_map = ops.HyperMap()

    @staticmethod
    def _as_groups(params, weight_decay) -> List[ParamGroup]:
        params = list(params)
        if params and isinstance(params[0], ParamGroup):
            return params
        return [ParamGroup(params, 1.0, weight_decay)]

    @property
    def initial_group_lrs(self) -> List[float]:
        return [self.base_lr * g.lr_mult for g in self.groups]

    def set_group_lrs(self, lrs: Sequence[float]) -> None:
        """Set the learning rate of each group (called by the schedulers)."""
        per_param = np.asarray(lrs, dtype=np.float32)[self.group_index]
        # in place: a compiled graph keeps using the old buffer after set_data()
        ops.assign(self.param_lrs, Tensor(per_param))

    def group_lrs(self) -> List[float]:
        per_param = self.param_lrs.asnumpy()
        firsts = [int(np.argmax(self.group_index == i)) for i in range(len(self.groups))]
        return [float(per_param[j]) for j in firsts]

    def _per_param(self):
        """The lr and weight decay of each parameter, as tuples of scalars."""
        return ops.unstack(self.param_lrs), ops.unstack(self.weight_decays)

    def zeros_like_params(self, prefix: str) -> ParameterTuple:
        return self.parameters.clone(prefix=prefix, init='zeros')


def scalar(value, dtype=ms.float32) -> Tensor:
    return Tensor(np.asarray(value), dtype)
