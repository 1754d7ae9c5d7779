"""The compiled steps: one graph for a whole training step, one for inference.

``TrainStep`` runs forward, loss, gradients, the data-parallel all-reduce,
loss-scale bookkeeping, gradient clipping and the optimizer update in one
``construct``, so graph mode compiles the whole step once.

With loss scaling (mixed precision) overflowing gradients are routine: the
step checks every gradient, skips the update (``if finite:``) when one is not
finite and halves a dynamic scale, as PyTorch's ``GradScaler`` does.  In fp32
the step is MindSpore's ``TrainOneStepCell`` / mmengine's ``OptimWrapper``
update, with no check in the graph: the check and the branch cost about 2 s of
the InceptionV3 compile, for an event that stops training anyway.  The runner
stops at the first non-finite loss and never writes a checkpoint from
non-finite weights (see ``Runner.run_train_step``).

Measured and rejected alternatives to the branch (benchmarks/README.md): two
graphs (gradients, then the update from Python) hold the gradients as graph
outputs, +0.6-1.0 GiB peak memory for VGG16 training; a data-flow skip
(selects, gated hyper-parameters) compiled 2 s slower and took 840 MiB more on
InceptionV3.
"""
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
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


class TrainStep(nn.Cell):
    """One optimisation step.

    Args:
        model: the classifier (``loss(inputs, labels)`` gives the loss).
        optimizer: an mmcls_ms optimizer Cell.
        max_norm: clip the global gradient norm to this value (None: no clip).
        loss_scale: initial loss scale (1.0 without mixed precision).
        dynamic_scale: halve the scale on overflow and grow it by
            ``growth_factor`` after ``growth_interval`` finite steps.
        grad_reducer: a Cell averaging gradients across ranks, or None.
        skip_nonfinite: check every gradient and skip the update when one is
            not finite.  Default: only with loss scaling (``dynamic_scale`` or
            ``loss_scale != 1``).  Without it the step returns whether the
            loss is finite.

    Example:
        >>> step = TrainStep(model, SGD(model.trainable_params(), lr=0.1))  # doctest: +SKIP
        >>> loss, finite = step(images, labels)                             # doctest: +SKIP
    """

    def __init__(self, model, optimizer, max_norm=None, loss_scale=1.0, dynamic_scale=False,
                 growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 grad_reducer=None, skip_nonfinite=None):
        super().__init__(auto_prefix=False)
        self.loss_cell = _LossCell(model)
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.hyper_map = ops.HyperMap()
        self.max_norm = max_norm
        self.dynamic_scale = dynamic_scale
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.loss_scale = Parameter(Tensor(np.float32(loss_scale)), name='loss_scale',
                                    requires_grad=False)
        self.good_steps = Parameter(Tensor(np.int32(0)), name='loss_scale_good_steps',
                                    requires_grad=False)
        self.grad_reducer = grad_reducer
        self.use_reducer = grad_reducer is not None
        # a constant scale of 1 needs no unscaling: one multiply per parameter saved
        self.unscale = dynamic_scale or loss_scale != 1.0
        self.skip_nonfinite = self.unscale if skip_nonfinite is None else bool(skip_nonfinite)
        if dynamic_scale and not self.skip_nonfinite:
            raise ValueError('TrainStep: a dynamic loss scale needs skip_nonfinite=True (the '
                             'scale backs off on skipped steps).')

    def construct(self, inputs, labels):
        loss = self.loss_cell(inputs, labels)
        sens = ops.ones_like(loss) * ops.cast(self.loss_scale, loss.dtype)
        grads = self.grad(self.loss_cell, self.weights)(inputs, labels, sens)
        return self._apply(loss, grads)

    def _apply(self, loss, grads):
        """All-reduce, unscale, clip and update with ``grads``; ``(loss, finite)``."""
        scale = self.loss_scale
        if self.use_reducer:
            grads = self.grad_reducer(grads)
        if self.unscale:
            grads = self.hyper_map(ops.partial(_unscale, 1.0 / scale), grads)
        if self.max_norm is not None:
            grads = ops.clip_by_global_norm(grads, self.max_norm)
        if not self.skip_nonfinite:  # a constant: no check, no branch in the graph
            return ops.depend(loss, self.optimizer(grads)), ops.isfinite(loss)
        # one sum instead of a finiteness check per gradient (~100x cheaper on
        # CPU): a NaN or inf anywhere makes the total non-finite
        finite = ops.isfinite(ops.addn(self.hyper_map(_sum_all, grads)))
        if finite:
            loss = ops.depend(loss, self.optimizer(grads))
        if self.dynamic_scale:
            loss = ops.depend(loss, self._update_scale(finite))
        return loss, finite

    def _update_scale(self, finite):
        if finite:
            good = self.good_steps + 1
            if good >= self.growth_interval:
                ops.assign(self.loss_scale, self.loss_scale * self.growth_factor)
                good = good * 0
            out = ops.assign(self.good_steps, good)
        else:
            ops.assign(self.loss_scale, ops.maximum(self.loss_scale * self.backoff_factor, 1.0))
            out = ops.assign(self.good_steps, self.good_steps * 0)
        return out


_accumulate = ops.MultitypeFuncGraph('accumulate')


@_accumulate.register('Tensor', 'Tensor')
def _accumulate_grad(total, grad):
    return ops.assign_add(total, ops.cast(grad, total.dtype))


_clear = ops.MultitypeFuncGraph('clear')


@_clear.register('Tensor')
def _clear_grad(total):
    return ops.assign(total, ops.zeros_like(total))


class AccumulatingTrainStep(TrainStep):
    """``TrainStep`` with gradient accumulation (``optim_wrapper.accumulative_counts``).

    Each call adds ``grad(loss * scale / loss_factor)`` to a buffer per
    parameter; a call with ``update=True`` then all-reduces, unscales, clips
    and applies the summed gradients and clears the buffers, all in the
    compiled graph.  The caller feeds ``loss_factor`` and ``update``
    (``OptimWrapper.loss_factor`` / ``should_update``).  The buffers are
    training state: a checkpoint written inside a group resumes exactly.

    Example:
        >>> step = AccumulatingTrainStep(model, SGD(model.trainable_params(), lr=0.1))  # doctest: +SKIP
        >>> loss, finite = step(images, labels, Tensor(4.0), Tensor(False))           # doctest: +SKIP
    """

    def __init__(self, model, optimizer, **kwargs):
        super().__init__(model, optimizer, **kwargs)
        self.accum_grads = self.weights.clone(prefix='accum_grads', init='zeros')

    def construct(self, inputs, labels, loss_factor, update):
        loss = self.loss_cell(inputs, labels)
        factor = ops.cast(self.loss_scale / loss_factor, loss.dtype)
        sens = ops.ones_like(loss) * factor
        grads = self.grad(self.loss_cell, self.weights)(inputs, labels, sens)
        loss = ops.depend(loss, self.hyper_map(_accumulate, self.accum_grads, grads))
        finite = ops.isfinite(loss)
        if update:
            loss, finite = self._apply(loss, self.accum_grads)
            # after the update has read the sums (side effects run in program order)
            loss = ops.depend(loss, self.hyper_map(_clear, self.accum_grads))
        return loss, finite


class PredictStep(nn.Cell):
    """Inference: ``(pred_scores, pred_labels)`` for a batch."""

    def __init__(self, model):
        super().__init__(auto_prefix=False)
        self.model = model

    def construct(self, inputs):
        return self.model.predict(inputs)
