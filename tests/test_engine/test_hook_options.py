"""Hooks refuse the arguments they would otherwise swallow."""
import pytest

import mmcls_ms.engine  # noqa: F401  (registers the hooks)
from mmcls_ms.registry import HOOKS


@pytest.mark.parametrize('cfg, error, message', [
    (dict(type='CheckpointHook', intervl=2), TypeError, "unknown key 'intervl'. Did you mean 'interval'"),
    (dict(type='CheckpointHook', filename_tmpl='ep{}.ckpt'), ValueError, 'filename_tmpl'),
    (dict(type='CheckpointHook', save_begin=3), ValueError, 'save_begin=3 is not supported'),
    (dict(type='CheckpointHook', greater_keys=['acc']), ValueError, 'greater_keys'),
    (dict(type='EMAHook', momentm=0.1), TypeError, "Did you mean 'momentum'"),
    (dict(type='EMAHook', ema_type='StochasticWeightAverage'), ValueError, 'ema_type'),
    (dict(type='EMAHook', evaluate_on_origin=True), ValueError, 'evaluate_on_origin=True'),
    (dict(type='EMAHook', update_buffers=True), ValueError, 'update_buffers=True'),
])
def test_an_unread_argument_is_refused_by_name(cfg, error, message):
    with pytest.raises(error, match=message):
        HOOKS.build(cfg)


def test_mmengine_defaults_are_accepted():
    hook = HOOKS.build(dict(type='CheckpointHook', interval=2, save_param_scheduler=True,
                            filename_tmpl=None, save_begin=0))
    assert hook.interval == 2
    ema = HOOKS.build(dict(type='EMAHook', momentum=0.1, ema_type='ExponentialMovingAverage',
                           strict_load=True, evaluate_on_origin=False))
    assert ema.momentum == 0.1
