"""Every key of ``val_cfg`` / ``test_cfg`` / the loop intervals is honoured or refused."""
import pytest

from mmcls_ms.engine import Runner
from mmcls_ms.engine.runner.config_keys import check_config_keys
from mmcls_ms.engine.runner.loops import EpochBasedTrainLoop, IterBasedTrainLoop

from engine_fixtures import tiny_cfg


def test_test_cfg_fast_is_a_known_key():
    # tools/test.py sets it on every run: it must not be reported as unread
    assert check_config_keys({'test_cfg': dict(fast=True)}) == []
    assert check_config_keys({'val_cfg': dict(fast=True)})  # the val loop has no fast path


@pytest.mark.parametrize('loop, size', [(EpochBasedTrainLoop, 'max_epochs'),
                                        (IterBasedTrainLoop, 'max_iters')])
@pytest.mark.parametrize('interval', [0, -1])
def test_a_validation_interval_below_one_is_refused(loop, size, interval):
    with pytest.raises(ValueError, match=rf'train_cfg.val_interval must be an int >= 1, '
                                         rf'got {interval}'):
        loop(None, [0, 1], **{size: 2}, val_interval=interval)


@pytest.mark.parametrize('key, value, message', [
    ('fp16', True, r'val_cfg.fp16=True \(mixed-precision evaluation\) is not supported'),
    ('type', 'TestLoop', "val_cfg.type='TestLoop' is not supported"),
    ('fastt', True, "unexpected keyword argument 'fastt'"),
])
def test_val_cfg_keys_are_refused_when_not_honoured(tiny_digits, tmp_path, key, value, message):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1,
                   **{'env_cfg.mode': 'pynative', 'val_cfg': {key: value}})
    runner = Runner.from_cfg(cfg)
    with pytest.raises((ValueError, KeyError, TypeError), match=message):
        runner.val()


def test_val_cfg_fp16_false_and_the_loop_type_are_accepted(tiny_digits, tmp_path):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1, **{
        'env_cfg.mode': 'pynative', 'val_cfg': dict(type='ValLoop', fp16=False),
        'test_cfg': dict(type='TestLoop', fp16=False, fast=False)})
    runner = Runner.from_cfg(cfg)
    assert runner.val()['accuracy/top1'] == runner.test()['accuracy/top1']
