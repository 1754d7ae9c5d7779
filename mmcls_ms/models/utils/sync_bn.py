"""Batch norm whose batch statistics are computed over all data-parallel ranks.

MindSpore 2.10's ``nn.SyncBatchNorm`` runs on Ascend only.  ``SyncBatchNorm2d``
is built from ``ops.AllReduce`` and plain tensor ops, so it runs on every
backend that has an AllReduce (CPU, GPU and Ascend), in PyNative and in graph
mode.  In training mode each rank sends its per-channel sums and sample count,
then its per-channel squared deviations from the global mean; every rank
therefore normalises with the statistics of the global batch, exactly as one
process would with ``batch_size x world_size`` images.  Gradients need no
special code: the backward of an AllReduce-sum is an AllReduce-sum of the
incoming gradients, which is what the global-batch statistics require.

It keeps ``nn.BatchNorm2d``'s parameter names (``gamma``, ``beta``,
``moving_mean``, ``moving_variance``), so checkpoints move freely between
``BN`` and ``SyncBN`` configs.  Running statistics follow PyTorch: the
momentum is given in the PyTorch convention and the running variance is the
unbiased one.

Example:
    >>> bn = SyncBatchNorm2d(8, momentum=0.1, all_reduce=None)  # no ranks: local stats
    >>> bn.gamma.shape
    (8,)
"""
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

_CHANNEL_AXES = (0, 2, 3)


class SyncBatchNorm2d(nn.Cell):
    """BatchNorm2d over the global batch of all data-parallel ranks.

    Args:
        num_features: channels of the input (N, C, H, W).
        eps: added to the variance before the square root.
        momentum: running-statistics momentum, PyTorch convention
            (``running = (1 - momentum) * running + momentum * batch``).
        all_reduce: the Cell that sums a float32 tensor over the ranks, e.g.
            ``ops.AllReduce()``; None computes local statistics (one process).

    Example:
        >>> from mindspore import ops
        >>> bn = SyncBatchNorm2d(64, all_reduce=ops.AllReduce())  # doctest: +SKIP
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 all_reduce=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        # the order of nn.BatchNorm2d, so that checkpoints list the same keys
        self.moving_mean = Parameter(Tensor(np.zeros(num_features, np.float32)),
                                     name='mean', requires_grad=False)
        self.moving_variance = Parameter(Tensor(np.ones(num_features, np.float32)),
                                         name='variance', requires_grad=False)
        self.gamma = Parameter(Tensor(np.ones(num_features, np.float32)), name='gamma')
        self.beta = Parameter(Tensor(np.zeros(num_features, np.float32)), name='beta')
        self.all_reduce = all_reduce
        self.synchronised = all_reduce is not None

    def _global_sum(self, values):
        if self.synchronised:
            return self.all_reduce(values)
        return values

    def construct(self, x):
        shape = (1, self.num_features, 1, 1)
        if not self.training:
            scale = self.gamma / ops.sqrt(self.moving_variance + self.eps)
            shift = self.beta - self.moving_mean * scale
            return x * scale.reshape(shape) + shift.reshape(shape)

        # One message for the sums and the count: ranks may hold unequal batches.
        local_count = ops.ones((1,), x.dtype) * (x.shape[0] * x.shape[2] * x.shape[3])
        sums_and_count = self._global_sum(ops.concat((x.sum(axis=_CHANNEL_AXES), local_count)))
        count = sums_and_count[self.num_features]
        mean = sums_and_count[:self.num_features] / count
        # Two passes (mean, then squared deviations) keep fp32 variance accurate.
        centred = x - mean.reshape(shape)
        variance = self._global_sum((centred * centred).sum(axis=_CHANNEL_AXES)) / count
        inv_std = ops.rsqrt(variance + self.eps)
        out = centred * (inv_std * self.gamma).reshape(shape) + self.beta.reshape(shape)

        batch_mean = ops.stop_gradient(mean)
        unbiased_variance = ops.stop_gradient(variance * count / ops.maximum(count - 1, 1))
        new_mean = self.moving_mean * (1 - self.momentum) + batch_mean * self.momentum
        new_variance = (self.moving_variance * (1 - self.momentum)
                        + unbiased_variance * self.momentum)
        out = ops.depend(out, ops.assign(self.moving_mean, new_mean))
        return ops.depend(out, ops.assign(self.moving_variance, new_variance))

    def extend_repr(self):
        return (f'num_features={self.num_features}, eps={self.eps}, '
                f'momentum={self.momentum} (PyTorch convention), synchronised={self.synchronised}')
