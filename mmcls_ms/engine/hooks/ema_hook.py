"""Exponential moving average of the weights, evaluated instead of the raw ones.

``ema = (1 - momentum) * ema + momentum * param`` after every ``interval``
iterations (mmengine's ``ExponentialMovingAverage``).  Validation and the
saved checkpoint's evaluation use the averaged weights when
``evaluate_on_ema``; the averages are saved with the training state, so a
resumed run continues them exactly.
"""
from mindspore import ParameterTuple, Tensor, nn, ops

from mmcls_ms.registry import HOOKS
from mmcls_ms.utils.arg_checks import check_interval
from .hook import Hook, check_hook_options

# mmpretrain's EMAHook arguments that match what this hook does only at their default
_DEFAULTS_ONLY = dict(ema_type='ExponentialMovingAverage', evaluate_on_origin=False,
                      update_buffers=False, begin_epoch=0, device=None)

_ema_update = ops.MultitypeFuncGraph('ema_update')


@_ema_update.register('Tensor', 'Tensor', 'Tensor')
def _update(momentum, averaged, param):
    return ops.assign(averaged, averaged * (1 - momentum) + param * momentum)


class EMAWeights(nn.Cell):
    """The averaged copies (``ema.<param name>``) and their compiled update."""

    def __init__(self, params, momentum: float):
        super().__init__(auto_prefix=False)
        self.params = ParameterTuple(params)
        self.averaged = self.params.clone(prefix='ema', init='same')
        self.momentum = Tensor(momentum, dtype=params[0].dtype)
        self.hyper_map = ops.HyperMap()

    def construct(self):
        return self.hyper_map(ops.partial(_ema_update, self.momentum), self.averaged,
                              self.params)

    def swap(self):
        """Exchange the model's weights and the averages (host copy)."""
        # in place (ops.assign): compiled graphs keep the old buffers after set_data()
        for param, averaged in zip(self.params, self.averaged):
            current = Tensor(param.asnumpy().copy())
            ops.assign(param, Tensor(averaged.asnumpy().copy()))
            ops.assign(averaged, current)


@HOOKS.register_module()
class EMAHook(Hook):
    """Args: ``momentum`` (weight of the new value), ``interval``,
    ``begin_iter`` (start averaging here), ``evaluate_on_ema``.

    mmpretrain's other arguments are accepted at their defaults only: another
    ``ema_type``, ``evaluate_on_origin=True``, ``update_buffers=True`` or a
    ``begin_epoch`` would change the result, so they are refused by name."""

    priority = 'ABOVE_NORMAL'

    def __init__(self, momentum: float = 0.0002, interval: int = 1, begin_iter: int = 0,
                 evaluate_on_ema: bool = True, strict_load: bool = False, **kwargs):
        # the averaged weights are part of the resume state and always load key
        # for key, so ``strict_load`` changes nothing here
        check_hook_options('EMAHook', kwargs, _DEFAULTS_ONLY,
                           ('momentum', 'interval', 'begin_iter', 'evaluate_on_ema', 'strict_load'))
        self.momentum = check_interval(momentum, '(0, 1)', 'EMAHook: momentum')
        self.interval = interval
        self.begin_iter = begin_iter
        self.evaluate_on_ema = evaluate_on_ema
        self.ema = None

    def before_run(self, runner):
        params = [p for p in runner.model.trainable_params()]
        self.ema = EMAWeights(params, self.momentum)
        runner.add_train_state('ema', self.ema)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter < self.begin_iter:
            # before averaging starts, the average follows the weights exactly
            for param, averaged in zip(self.ema.params, self.ema.averaged):
                ops.assign(averaged, Tensor(param.asnumpy().copy()))
        elif (runner.iter + 1) % self.interval == 0:
            self.ema()

    def before_val_epoch(self, runner):
        if self.evaluate_on_ema and runner.train_loop is not None:
            self.ema.swap()

    def after_val_epoch(self, runner, metrics=None):
        if self.evaluate_on_ema and runner.train_loop is not None:
            self.ema.swap()
