"""``EarlyStoppingHook``: stop training when a validation metric stops
improving (mmengine's hook, same arguments, defaults and order of checks)."""
import math
import warnings
from typing import Optional

from mmcls_ms.registry import HOOKS
from .hook import Hook

GREATER_KEYS = ('acc', 'top', 'ar@', 'auc', 'precision', 'map', 'mdice', 'miou', 'macc', 'aacc')
LESS_KEYS = ('loss', )


def infer_rule(monitor: str) -> str:
    """'greater' or 'less' from the metric name, as mmengine infers it.

    Example:
        >>> infer_rule('accuracy/top1'), infer_rule('val_loss')
        ('greater', 'less')
    """
    name = monitor.lower()
    for keys, rule in ((GREATER_KEYS, 'greater'), (LESS_KEYS, 'less')):
        if name in keys:
            return rule
    for keys, rule in ((GREATER_KEYS, 'greater'), (LESS_KEYS, 'less')):
        if any(key in name for key in keys):
            return rule
    raise ValueError(f'EarlyStoppingHook cannot infer the rule of monitor={monitor!r}; '
                     "set rule='greater' or rule='less'.")


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` validations.

    Args:
        monitor: the validation metric, e.g. ``'accuracy/top1'`` or ``'val_loss'``.
        rule: 'greater' or 'less'; None infers it from the name.
        min_delta: the least change that counts as an improvement (mmengine's
            default, 0.1).
        strict: a missing ``monitor`` is an error (else a warning).
        check_finite: stop at a NaN or infinite value.
        patience: validations without improvement before stopping.
        stopping_threshold: stop once the metric is better than this.

    Example:
        >>> custom_hooks = [dict(type='EarlyStoppingHook', monitor='accuracy/top1',
        ...                      patience=3, min_delta=0.1)]
    """

    priority = 'LOWEST'

    def __init__(self, monitor: str, rule: Optional[str] = None, min_delta: float = 0.1,
                 strict: bool = False, check_finite: bool = True, patience: int = 5,
                 stopping_threshold: Optional[float] = None):
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"EarlyStoppingHook rule must be 'greater' or 'less', got {rule!r}.")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f'EarlyStoppingHook patience must be an int >= 1, got {patience!r}.')
        if not min_delta >= 0:
            raise ValueError(f'EarlyStoppingHook min_delta must be >= 0, got {min_delta!r}.')
        self.monitor = monitor
        self.rule = rule or infer_rule(monitor)
        self.min_delta = float(min_delta) if self.rule == 'greater' else -float(min_delta)
        self.strict = strict
        self.check_finite = check_finite
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.best_score = -math.inf if self.rule == 'greater' else math.inf
        self.wait_count = 0

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.rule == 'greater' else a < b

    def after_val_epoch(self, runner, metrics=None):
        if runner.train_loop is None:
            return
        metrics = metrics or {}
        if self.monitor not in metrics:
            message = (f'EarlyStoppingHook: monitor={self.monitor!r} is not among the '
                       f'validation metrics {sorted(metrics)}.')
            if self.strict:
                raise KeyError(message)
            warnings.warn(message + ' Early stopping is skipped.')
            return
        current = float(metrics[self.monitor])
        reason = None
        if self.check_finite and not math.isfinite(current):
            reason = f'{self.monitor} is {current}, not finite'
        elif (self.stopping_threshold is not None
              and self._better(current, self.stopping_threshold)):
            reason = f'{self.monitor} {current:.4f} passed the threshold {self.stopping_threshold}'
        elif self._better(self.best_score + self.min_delta, current):
            self.wait_count += 1
            if self.wait_count >= self.patience:
                reason = (f'{self.monitor} has not improved on {self.best_score:.4f} by more '
                          f'than {abs(self.min_delta)} in {self.wait_count} validations')
        else:
            self.best_score, self.wait_count = current, 0
        runner.hook_state['early_stopping'] = dict(best_score=self.best_score,
                                                   wait_count=self.wait_count)
        if reason is not None:
            runner.train_loop.stop_training = True
            runner.logger.info(f'Early stopping: {reason}.')

    def after_load_checkpoint(self, runner, checkpoint):
        state = (checkpoint.get('hook_state') or {}).get('early_stopping')
        if state:
            self.best_score, self.wait_count = state['best_score'], state['wait_count']
