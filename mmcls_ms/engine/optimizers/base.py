"""What every mmcls_ms optimizer shares: parameter groups with their own lr
and weight decay.

An optimizer is an ``nn.Cell`` whose ``construct(grads)`` updates the
parameters in place, so that it compiles into the training step's graph.

The parameters are stored group by group.  The learning rate of each group
lives in one ``Parameter`` vector, ``group_lrs``, that the parameter
schedulers rewrite from Python between steps; the weight decay of each group
is a constant scalar Tensor, or ``None`` for a group without decay
(``group_decay_tensors``, handed to the rules by :meth:`group_weight_decay`,
which also says when the decay products are computed).  Each update rule is
a ``MultitypeFuncGraph`` with two overloads, for a Tensor decay and for
``None``, so an undecayed group pays no multiply (a Python float multiplied
inside the rule cost 0.8 s more compile time for InceptionV3 than a Tensor).
The update rule is mapped over one group at a time (``group_slice``): one lr
scalar per group, not per parameter, keeps the optimizer graph small (an
``Unstack`` of a 292-entry lr vector for InceptionV3 cost 0.4-0.5 s of
compile time).  Groups come from ``paramwise_cfg`` (``lr_mult`` /
``decay_mult``); see :mod:`.builder`.
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
    """Holds the parameters group by group, the groups' lr vector and weight decays.

    Args:
        params: a list of trainable Parameters, or a list of :class:`ParamGroup`.
        lr: the base learning rate.
        weight_decay: the default weight decay for a plain parameter list.
    """

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        super().__init__(auto_prefix=False)
        groups = [g for g in self._as_groups(params, weight_decay) if g.params]
        flat, bounds = [], []
        for group in groups:
            bounds.append((len(flat), len(flat) + len(group.params)))
            flat.extend(group.params)
        if not flat:
            raise ValueError(f'{type(self).__name__} got no trainable parameters to optimize.')
        self.base_lr = float(lr)
        self.groups = groups
        # constants of the graph: (start, end) of each group in the flat tuple, its decay
        self.group_bounds = tuple(bounds)
        self.group_decay_tensors = tuple(scalar(g.weight_decay) if g.weight_decay else None
                                         for g in groups)
        self.parameters = ParameterTuple(flat)
        self.group_lrs = Parameter(Tensor(np.zeros(len(groups), np.float32)), name='group_lrs',
                                   requires_grad=False)
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
        if len(lrs) != len(self.groups):
            raise ValueError(f'{type(self).__name__} has {len(self.groups)} parameter groups, '
                             f'got {len(lrs)} learning rates.')
        # in place: a compiled graph keeps using the old buffer after set_data()
        ops.assign(self.group_lrs, Tensor(np.asarray(lrs, dtype=np.float32)))

    def current_group_lrs(self) -> List[float]:
        """The learning rate of each group now."""
        return [float(lr) for lr in self.group_lrs.asnumpy()]

    def group_slice(self, g: int, *sequences) -> tuple:
        """Group ``g``'s part of each flat tuple (parameters, states, gradients).

        An optimizer's ``construct`` loops over its groups (unrolled when
        compiled: the groups are fixed) and maps its update rule over each
        group's slice, with that group's lr and weight decay bound by one
        ``ops.partial`` (graph mode rejects nested partials, and a tuple of
        hyper-parameters unpacked inside the rule costs 0.4 s more to compile
        for InceptionV3).

        Example:
            >>> for g in range(len(self.group_bounds)):     # doctest: +SKIP
            ...     update = ops.partial(_sgd_update, self.momentum, self.group_lrs[g],
            ...                          self.group_weight_decay(g, grads))
            ...     self.hyper_map(update, *self.group_slice(g, self.parameters,
            ...                                              self.moments, grads))
        """
        if len(self.group_bounds) == 1:  # a constant; slicing the tuples costs compile time
            return sequences
        start, end = self.group_bounds[g]
        sliced = ()
        for seq in sequences:
            sliced = sliced + (seq[start:end],)
        return sliced

    def group_weight_decay(self, g: int, grads):
        """Group ``g``'s weight decay (``None`` without), available once all ``grads`` are.

        ``param * weight_decay`` depends only on the parameter, so MindSpore's
        executor would compute every product at the start of the step and hold
        them all through the backward pass (VGG16 training peaked at 4756 MiB).
        Tying the scalar to the whole gradient tuple moves the products after
        the backward pass.  Tying it per parameter is not enough (the products
        then wait only for their own gradient), and tying the parameter
        (``ops.depend(param, grad)``) makes MindSpore load each decayed weight
        a second time and copy it twice per step (``TensorMove``): InceptionV3's
        step had 198 copies and 4447 kernel-graph nodes instead of 3570, and
        compiled 0.6-2.6 s slower (two sets of 3 pinned pairs).

        Example:
            >>> weight_decay = self.group_weight_decay(g, grads)   # doctest: +SKIP
        """
        decay = self.group_decay_tensors[g]
        if decay is None:  # a constant of the graph
            return None
        return ops.depend(decay, grads)

    def zeros_like_params(self, prefix: str) -> ParameterTuple:
        return self.parameters.clone(prefix=prefix, init='zeros')


def l2_decayed(grad, param, weight_decay):
    """``grad + weight_decay * param`` (PyTorch's L2 weight decay), inside a rule.

    ``weight_decay`` comes from :meth:`BaseOptimizer.group_weight_decay`,
    which makes the product wait for the backward pass.

    Example:
        >>> grad = l2_decayed(grad, param, weight_decay)    # doctest: +SKIP
    """
    return grad + param * weight_decay


def scalar(value, dtype=ms.float32) -> Tensor:
    return Tensor(np.asarray(value), dtype)
