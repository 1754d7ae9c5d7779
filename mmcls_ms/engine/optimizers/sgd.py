"""SGD with momentum and Nesterov, in PyTorch's convention.

``g = grad + weight_decay * p``; ``buf = momentum * buf + g``;
``p -= lr * (g + momentum * buf if nesterov else buf)``.
It runs MindSpore's fused ``ApplyMomentum`` kernel, which has exactly that form.
"""
from mindspore import ops

from mmcls_ms.registry import OPTIMIZERS
from .base import BaseOptimizer, scalar

_sgd_update = ops.MultitypeFuncGraph('sgd_update')


@_sgd_update.register('Function', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor', 'Tensor')
def _apply_sgd(apply_momentum, momentum, lr, weight_decay, param, moment, grad):
    grad = grad + weight_decay * param
    return ops.depend(True, apply_momentum(param, moment, lr, grad, momentum))


@OPTIMIZERS.register_module()
class SGD(BaseOptimizer):
    """Stochastic gradient descent.

    Example:
        >>> opt = SGD(net.trainable_params(), lr=0.1, momentum=0.9,
        ...           weight_decay=1e-4)      # doctest: +SKIP
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, dampening: float = 0.0):
        super().__init__(params, lr, weight_decay)
        if dampening != 0:
            raise ValueError('SGD: `dampening` other than 0 is not supported.')
        if nesterov and momentum <= 0:
            raise ValueError('SGD: Nesterov momentum needs `momentum` > 0.')
        self.momentum = scalar(momentum)
        self.moments = self.zeros_like_params('moments')
        self.apply_momentum = ops.ApplyMomentum(use_nesterov=nesterov)

    def construct(self, grads):
        lrs, decays = self._per_param()
        return self.hyper_map(ops.partial(_sgd_update, self.apply_momentum, self.momentum),
                              lrs, decays, self.parameters, self.moments, grads)
