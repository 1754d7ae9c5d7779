"""AdamW in PyTorch's convention: decoupled weight decay, bias correction.

``p *= 1 - lr * wd``; ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
``p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.
"""
import numpy as np
from mindspore import Parameter, Tensor, ops

from mmcls_ms.registry import OPTIMIZERS
from .base import BaseOptimizer, scalar


def _adam_step(beta1, beta2, eps, correction1, correction2, lr, decayed, param, exp_avg,
               exp_avg_sq, grad):
    new_m = beta1 * exp_avg + (1 - beta1) * grad
    new_v = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    exp_avg = ops.assign(exp_avg, new_m)
    exp_avg_sq = ops.assign(exp_avg_sq, new_v)
    denom = ops.sqrt(new_v / correction2) + eps
    return ops.depend(True, ops.assign(param, decayed - lr * (new_m / correction1) / denom))


# an overload for a group without weight decay (None) and one with the group's
# decoupled decay factor ``keep = 1 - lr * weight_decay`` (base.py says why)
_adamw_update = ops.MultitypeFuncGraph('adamw_update')


@_adamw_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'None',
                        'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_adam(beta1, beta2, eps, correction1, correction2, lr, no_decay, param, exp_avg,
                exp_avg_sq, grad):
    return _adam_step(beta1, beta2, eps, correction1, correction2, lr, param, param, exp_avg,
                      exp_avg_sq, grad)


@_adamw_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor',
                        'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_adamw(beta1, beta2, eps, correction1, correction2, lr, keep, param, exp_avg,
                 exp_avg_sq, grad):
    decayed = param * keep  # keep waits for the gradients (BaseOptimizer.group_weight_decay)
    return _adam_step(beta1, beta2, eps, correction1, correction2, lr, decayed, param, exp_avg,
                      exp_avg_sq, grad)


@OPTIMIZERS.register_module()
class AdamW(BaseOptimizer):
    """Adam with decoupled weight decay.

    Example:
        >>> opt = AdamW(net.trainable_params(), lr=1e-3, weight_decay=0.05)  # doctest: +SKIP
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False):
        super().__init__(params, lr, weight_decay)
        if amsgrad:
            raise ValueError('AdamW: `amsgrad=True` is not supported.')
        self.beta1 = scalar(betas[0])
        self.beta2 = scalar(betas[1])
        self.eps = scalar(eps)
        self.exp_avg = self.zeros_like_params('exp_avg')
        self.exp_avg_sq = self.zeros_like_params('exp_avg_sq')
        self.step_count = Parameter(Tensor(np.zeros((), np.float32)), name='step_count',
                                    requires_grad=False)

    def construct(self, grads):
        step = self.step_count + 1
        step = ops.depend(step, ops.assign(self.step_count, step))
        correction1 = 1 - ops.pow(self.beta1, step)
        correction2 = 1 - ops.pow(self.beta2, step)
        done = True
        for g in range(len(self.group_bounds)):  # unrolled: the groups are fixed
            lr, weight_decay = self.group_lrs[g], self.group_weight_decay(g, grads)
            keep = None if weight_decay is None else 1 - lr * weight_decay  # once per group
            update = ops.partial(_adamw_update, self.beta1, self.beta2, self.eps, correction1,
                                 correction2, lr, keep)
            done = ops.depend(done, self.hyper_map(update, *self.group_slice(
                g, self.parameters, self.exp_avg, self.exp_avg_sq, grads)))
        return done
