"""The compiled steps: a training step in two graphs, and inference.

``TrainStep`` runs a training step as two compiled graphs:

1. ``GradStep``: forward, loss, gradients, the data-parallel all-reduce,
   unscaling, the finiteness check and gradient clipping;
2. the optimizer ``Cell``: the parameter update.

Python runs the second graph only when the gradients are finite, so
non-finite gradients never reach the parameters (or the optimizer's state),
and the step reports ``finite=False``.  With a dynamic loss scale that is
routine (the scale is halved); otherwise the runner stops with a clear error.

Why not one graph with ``if finite:`` inside: MindSpore compiles a branch on a
tensor into control flow, which cost 2.2 s more to compile for the InceptionV3
gradient graph (11.4 s against 9.2 s, ``compile_statistics``); the second graph
has a fixed cost of its own, so end to end the first step is about the same
(benchmarks/README.md).  The runner reads ``finite`` after every step anyway, so
the decision in Python costs nothing per step.
"""
import numpy as np
from mindspore import Parameter, Tensor, mutable, nn, ops
from mindspore import dtype as mstype

_unscale = ops.MultitypeFuncGraph('unscale')


@_unscale.register('Tensor', 'Tensor')
def _unscale_grad(inv_scale, grad):
    return grad * ops.cast(inv_scale, grad.dtype)


_sum_all = ops.MultitypeFuncGraph('sum_all')


@_sum_all.register('Tensor')
def _sum_grad(grad):
    # the first axis, then the rest: MindSpore's CPU all-axes ReduceSum is ~10x slower
    # (about 1 GB/s); on InceptionV3 that was 5% of a training step
    if grad.ndim > 1:
        grad = grad.sum(0)
    return ops.cast(grad.sum(), mstype.float32)


class _LossCell(nn.Cell):
    """``model.loss`` as a Cell, so that it can be differentiated."""

    def __init__(self, model):
        super().__init__(auto_prefix=False)
        self.model = model

    def construct(self, inputs, labels):
        return self.model.loss(inputs, labels)


class GradStep(nn.Cell):
    """Loss and gradients, ready for the optimizer: ``(loss, finite, grads)``.

    Args:
        model: the classifier (``loss(inputs, labels)`` gives the loss).
        weights: the parameters to differentiate (the optimizer's).
        loss_scale: the loss-scale Parameter (the loss is multiplied by it
            before the backward pass; the gradients are divided by it after).
        unscale: whether to divide by the scale (not needed for a constant 1).
        max_norm: clip the global gradient norm to this value (None: no clip).
        grad_reducer: a Cell averaging gradients across ranks, or None.

    Example:
        >>> grad_step = GradStep(model, opt.parameters, scale)   # doctest: +SKIP
        >>> loss, finite, grads = grad_step(images, labels)    # doctest: +SKIP
    """

    def __init__(self, model, weights, loss_scale, unscale=True, max_norm=None,
                 grad_reducer=None):
        super().__init__(auto_prefix=False)
        self.loss_cell = _LossCell(model)
        self.weights = weights
        self.loss_scale = loss_scale
        self.unscale = unscale
        self.max_norm = max_norm
        self.grad_reducer = grad_reducer
        self.use_reducer = grad_reducer is not None
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.hyper_map = ops.HyperMap()

    def construct(self, inputs, labels):
        loss = self.loss_cell(inputs, labels)
        scale = self.loss_scale
        sens = ops.ones_like(loss) * ops.cast(scale, loss.dtype)
        grads = self.grad(self.loss_cell, self.weights)(inputs, labels, sens)
        if self.use_reducer:
            grads = self.grad_reducer(grads)
        if self.unscale:
            grads = self.hyper_map(ops.partial(_unscale, 1.0 / scale), grads)
        # one sum instead of a finiteness check per gradient (~100x cheaper on
        # CPU): a NaN or inf anywhere makes the total non-finite
        finite = ops.isfinite(ops.addn(self.hyper_map(_sum_all, grads)))
        if self.max_norm is not None:
            grads = ops.clip_by_global_norm(grads, self.max_norm)
        return loss, finite, grads


class TrainStep(nn.Cell):
    """One optimisation step: ``loss, finite = step(inputs, labels)``.

    A Cell so that its state (the optimizer's, the loss scale) is saved and
    restored with the training state; it is called from Python, which runs
    the two compiled graphs (see the module docstring).

    Args:
        model: the classifier (``loss(inputs, labels)`` gives the loss).
        optimizer: an mmcls_ms optimizer Cell.
        max_norm: clip the global gradient norm to this value (None: no clip).
        loss_scale: initial loss scale (1.0 without mixed precision).
        dynamic_scale: halve the scale on overflow and grow it by
            ``growth_factor`` after ``growth_interval`` finite steps.
        grad_reducer: a Cell averaging gradients across ranks, or None.

    Example:
        >>> step = TrainStep(model, SGD(model.trainable_params(), lr=0.1))  # doctest: +SKIP
        >>> loss, finite = step(images, labels)                             # doctest: +SKIP
    """

    def __init__(self, model, optimizer, max_norm=None, loss_scale=1.0, dynamic_scale=False,
                 growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 grad_reducer=None):
        super().__init__(auto_prefix=False)
        self.optimizer = optimizer
        self.dynamic_scale = dynamic_scale
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.loss_scale = Parameter(Tensor(np.float32(loss_scale)), name='loss_scale',
                                    requires_grad=False)
        self.good_steps = Parameter(Tensor(np.int32(0)), name='loss_scale_good_steps',
                                    requires_grad=False)
        # a constant scale of 1 needs no unscaling: one multiply per parameter saved
        self.grad_step = GradStep(model, optimizer.parameters, self.loss_scale,
                                  unscale=dynamic_scale or loss_scale != 1.0,
                                  max_norm=max_norm, grad_reducer=grad_reducer)

    def __call__(self, inputs, labels):
        # not Cell.__call__: the step is two graphs and a decision in Python
        return self.construct(inputs, labels)

    def construct(self, inputs, labels):
        loss, finite, grads = self.grad_step(inputs, labels)
        is_finite = bool(finite.asnumpy())
        if is_finite:
            # mutable: a plain tuple is part of the graph's cache key, and each
            # step's new gradient tuple would recompile the optimizer
            self.optimizer(mutable(grads))
        if self.dynamic_scale:
            self._update_scale(is_finite)
        return loss, finite

    def _update_scale(self, finite: bool) -> None:
        # written with ops.assign: a compiled graph keeps reading the old
        # buffer after Parameter.set_data()
        scale = float(self.loss_scale.asnumpy())
        good = int(self.good_steps.asnumpy())
        if finite:
            good += 1
            if good >= self.growth_interval:
                scale, good = scale * self.growth_factor, 0
        else:
            scale, good = max(scale * self.backoff_factor, 1.0), 0
        ops.assign(self.loss_scale, Tensor(np.float32(scale)))
        ops.assign(self.good_steps, Tensor(np.int32(good)))


class PredictStep(nn.Cell):
    """Inference: ``(pred_scores, pred_labels)`` for a batch."""

    def __init__(self, model):
        super().__init__(auto_prefix=False)
        self.model = model

    def construct(self, inputs):
        return self.model.predict(inputs)
