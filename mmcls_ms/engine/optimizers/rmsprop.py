"""RMSprop in PyTorch's convention (the original Inception recipe).

``sq = alpha * sq + (1 - alpha) * g^2``; with ``centered``, ``avg_g`` tracks the
mean gradient and the denominator is ``sqrt(sq - avg_g^2) + eps``; with
momentum, ``buf = momentum * buf + g / denom`` and ``p -= lr * buf``.
"""
from mindspore import ops

from mmcls_ms.registry import OPTIMIZERS
from .base import BaseOptimizer, scalar

_rmsprop_update = ops.MultitypeFuncGraph('rmsprop_update')


@_rmsprop_update.register('Tensor', 'Tensor', 'Tensor', 'Bool', 'Tensor', 'Number', 'Tensor',
                          'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_rmsprop(alpha, eps, momentum, centered, lr, weight_decay, param, square_avg,
                   grad_avg, moment, grad):
    if weight_decay != 0:  # a constant: no multiply for undecayed groups
        grad = grad + weight_decay * param
    new_sq = alpha * square_avg + (1 - alpha) * grad * grad
    square_avg = ops.assign(square_avg, new_sq)
    if centered:
        new_ga = alpha * grad_avg + (1 - alpha) * grad
        grad_avg = ops.assign(grad_avg, new_ga)
        denom = ops.sqrt(new_sq - new_ga * new_ga) + eps
    else:
        denom = ops.sqrt(new_sq) + eps
    new_moment = momentum * moment + grad / denom
    moment = ops.assign(moment, new_moment)
    return ops.depend(True, ops.assign(param, param - lr * new_moment))


@OPTIMIZERS.register_module()
class RMSprop(BaseOptimizer):
    """RMSprop (``alpha`` is the decay of the squared-gradient average).

    Example:
        >>> opt = RMSprop(net.trainable_params(), lr=0.045, alpha=0.9, eps=1.0,
        ...               momentum=0.9)        # doctest: +SKIP
    """

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr, weight_decay)
        self.alpha = scalar(alpha)
        self.eps = scalar(eps)
        self.momentum = scalar(momentum)
        self.centered = centered
        self.square_avg = self.zeros_like_params('square_avg')
        self.grad_avg = self.zeros_like_params('grad_avg')
        self.moments = self.zeros_like_params('moments')

    def construct(self, grads):
        done = True
        for g in range(len(self.group_bounds)):  # unrolled: the groups are fixed
            update = ops.partial(_rmsprop_update, self.alpha, self.eps, self.momentum,
                                 self.centered, self.group_lrs[g], self.group_decays[g])
            done = ops.depend(done, self.hyper_map(update, *self.group_slice(
                g, self.parameters, self.square_avg, self.grad_avg, self.moments, grads)))
        return done
