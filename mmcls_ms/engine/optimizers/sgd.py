"""SGD with momentum and Nesterov, in PyTorch's convention.

``g = grad + weight_decay * p``; ``buf = momentum * buf + g``;
``p -= lr * (g + momentum * buf if nesterov else buf)``.
On CPU each parameter group is one kernel (``fused``, see
:mod:`mmcls_ms.ops.fused_sgd`); elsewhere plain momentum runs MindSpore's
``ApplyMomentum`` kernel, which has exactly that form, and Nesterov is written
out, because that kernel's Nesterov variant does not follow PyTorch's update.
"""
from typing import Optional

import numpy as np
from mindspore import Tensor, ops

from mmcls_ms.ops.fused_sgd import fused_sgd_available, fused_sgd_op
from mmcls_ms.registry import OPTIMIZERS
from .base import BaseOptimizer, l2_decayed, scalar

# each rule has an overload for a group without weight decay (None) and one with a
# decay Tensor, which adds the L2 term inside the rule (base.py says why)
_sgd_update = ops.MultitypeFuncGraph('sgd_update')


@_sgd_update.register('Function', 'Tensor', 'Tensor', 'None', 'Tensor', 'Tensor', 'Tensor')
def _apply_sgd(apply_momentum, momentum, lr, no_decay, param, moment, grad):
    return ops.depend(True, apply_momentum(param, moment, lr, grad, momentum))


@_sgd_update.register('Function', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_sgd_with_decay(apply_momentum, momentum, lr, weight_decay, param, moment, grad):
    return _apply_sgd(apply_momentum, momentum, lr, None, param, moment,
                      l2_decayed(grad, param, weight_decay))


_nesterov_update = ops.MultitypeFuncGraph('nesterov_update')


@_nesterov_update.register('Tensor', 'Tensor', 'None', 'Tensor', 'Tensor', 'Tensor')
def _apply_nesterov(momentum, lr, no_decay, param, moment, grad):
    new_moment = momentum * moment + grad
    moment = ops.assign(moment, new_moment)
    return ops.depend(True, ops.assign(param, param - lr * (grad + momentum * new_moment)))


@_nesterov_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_nesterov_with_decay(momentum, lr, weight_decay, param, moment, grad):
    return _apply_nesterov(momentum, lr, None, param, moment,
                           l2_decayed(grad, param, weight_decay))


@OPTIMIZERS.register_module()
class SGD(BaseOptimizer):
    """Stochastic gradient descent.

    Args:
        fused: update each parameter group with one CPU kernel
            (:mod:`mmcls_ms.ops.fused_sgd`).  ``None`` (the default, as in
            PyTorch) uses it where it is available; ``True`` requires it.

    Example:
        >>> opt = SGD(net.trainable_params(), lr=0.1, momentum=0.9,
        ...           weight_decay=1e-4)      # doctest: +SKIP
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, dampening: float = 0.0, fused: Optional[bool] = None):
        super().__init__(params, lr, weight_decay)
        if dampening != 0:
            raise ValueError('SGD: `dampening` other than 0 is not supported.')
        if nesterov and momentum <= 0:
            raise ValueError('SGD: Nesterov momentum needs `momentum` > 0.')
        self.momentum = scalar(momentum)
        self.moments = self.zeros_like_params('moments')
        self.nesterov = nesterov
        self.apply_momentum = ops.ApplyMomentum()
        self.fused = self._use_fused(fused, self.parameters)
        if self.fused:
            self.fused_steps = tuple(fused_sgd_op(end - start) for start, end in self.group_bounds)
            self.fused_hypers = tuple(
                Tensor(np.array([momentum, g.weight_decay, float(nesterov)], np.float32))
                for g in self.groups)

    @staticmethod
    def _use_fused(fused: Optional[bool], parameters) -> bool:
        if fused is False:
            return False
        reason = fused_sgd_available(parameters, required=bool(fused))
        if reason and fused:
            raise RuntimeError(f'SGD: fused=True, but the fused kernel cannot run: {reason}. '
                               'Set fused=None (or False) in optim_wrapper.optimizer.')
        return not reason

    def construct(self, grads):
        done = True
        for g in range(len(self.group_bounds)):  # unrolled: the groups are fixed
            if self.fused:
                params, moments, group_grads = self.group_slice(g, self.parameters,
                                                                self.moments, grads)
                done = ops.depend(done, self.fused_steps[g](
                    *params, *moments, *group_grads, self.group_lrs[g], self.fused_hypers[g]))
                continue
            lr, weight_decay = self.group_lrs[g], self.group_weight_decay(g, grads)
            if self.nesterov:  # a constant: resolved once, not per parameter
                update = ops.partial(_nesterov_update, self.momentum, lr, weight_decay)
            else:
                update = ops.partial(_sgd_update, self.apply_momentum, self.momentum, lr,
                                     weight_decay)
            done = ops.depend(done, self.hyper_map(
                update, *self.group_slice(g, self.parameters, self.moments, grads)))
        return done
