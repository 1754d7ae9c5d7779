"""RMSprop in PyTorch's convention (the original Inception recipe).

``sq = alpha * sq + (1 - alpha) * g^2``; with ``centered``, ``avg_g`` tracks the
mean gradient and the denominator is ``sqrt(sq - avg_g^2) + eps``; with
momentum, ``buf = momentum * buf + g / denom`` and ``p -= lr * buf``.
"""
from mindspore import ops

from mmcls_ms.registry import OPTIMIZERS
from .base import BaseOptimizer, l2_decayed, scalar


def _momentum_step(momentum, lr, param, moment, normalized_grad):
    new_moment = momentum * moment + normalized_grad
    moment = ops.assign(moment, new_moment)
    return ops.depend(True, ops.assign(param, param - lr * new_moment))


# each rule has an overload for a group without weight decay (None) and one with a
# decay Tensor, which adds the L2 term inside the rule (base.py says why)
_rmsprop_update = ops.MultitypeFuncGraph('rmsprop_update')


@_rmsprop_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'None', 'Tensor', 'Tensor',
                          'Tensor', 'Tensor')
def _apply_rmsprop(alpha, eps, momentum, lr, no_decay, param, square_avg, moment, grad):
    new_sq = alpha * square_avg + (1 - alpha) * grad * grad
    square_avg = ops.assign(square_avg, new_sq)
    return _momentum_step(momentum, lr, param, moment, grad / (ops.sqrt(new_sq) + eps))


@_rmsprop_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor',
                          'Tensor', 'Tensor')
def _apply_rmsprop_with_decay(alpha, eps, momentum, lr, weight_decay, param, square_avg, moment,
                              grad):
    return _apply_rmsprop(alpha, eps, momentum, lr, None, param, square_avg, moment,
                          l2_decayed(grad, param, weight_decay))


_centered_rmsprop_update = ops.MultitypeFuncGraph('centered_rmsprop_update')


@_centered_rmsprop_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'None', 'Tensor',
                                   'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_centered_rmsprop(alpha, eps, momentum, lr, no_decay, param, square_avg, grad_avg,
                            moment, grad):
    new_sq = alpha * square_avg + (1 - alpha) * grad * grad
    square_avg = ops.assign(square_avg, new_sq)
    new_ga = alpha * grad_avg + (1 - alpha) * grad
    grad_avg = ops.assign(grad_avg, new_ga)
    denom = ops.sqrt(new_sq - new_ga * new_ga) + eps
    return _momentum_step(momentum, lr, param, moment, grad / denom)


@_centered_rmsprop_update.register('Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor',
                                   'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_centered_rmsprop_with_decay(alpha, eps, momentum, lr, weight_decay, param, square_avg,
                                       grad_avg, moment, grad):
    return _apply_centered_rmsprop(alpha, eps, momentum, lr, None, param, square_avg, grad_avg,
                                   moment, l2_decayed(grad, param, weight_decay))


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
        # only the centred rule reads the mean gradient: no weight-sized buffer otherwise
        self.grad_avg = self.zeros_like_params('grad_avg') if centered else None
        self.moments = self.zeros_like_params('moments')

    def construct(self, grads):
        done = True
        for g in range(len(self.group_bounds)):  # unrolled: the groups are fixed
            lr, weight_decay = self.group_lrs[g], self.group_weight_decay(g, grads)
            if self.centered:  # a constant: one rule per group, no branch per parameter
                update = ops.partial(_centered_rmsprop_update, self.alpha, self.eps,
                                     self.momentum, lr, weight_decay)
                done = ops.depend(done, self.hyper_map(update, *self.group_slice(
                    g, self.parameters, self.square_avg, self.grad_avg, self.moments, grads)))
            else:
                update = ops.partial(_rmsprop_update, self.alpha, self.eps, self.momentum, lr,
                                     weight_decay)
                done = ops.depend(done, self.hyper_map(update, *self.group_slice(
                    g, self.parameters, self.square_avg, self.moments, grads)))
        return done
