"""Hyper-parameters that cannot be right are refused when the optimizer is built."""
import pytest
from mindspore import nn

from mmcls_ms.engine.optimizers import build_optimizer
from mmcls_ms.utils.cli import is_expected_error
from mmcls_ms.utils.config import ConfigValueError


class Tiny(nn.Cell):

    def __init__(self):
        super().__init__()
        self.fc = nn.Dense(4, 2)

    def construct(self, x):
        return self.fc(x)


@pytest.mark.parametrize('optimizer, message', [
    (dict(type='SGD', lr=-0.1), 'optim_wrapper.optimizer.lr=-0.1 must be >= 0.'),
    (dict(type='SGD', lr=0.1, weight_decay=-1e-4),
     'optim_wrapper.optimizer.weight_decay=-0.0001 must be >= 0.'),
    (dict(type='SGD', lr=0.1, momentum=1.0), 'optim_wrapper.optimizer.momentum=1.0 must be in '
     '[0, 1).'),
    (dict(type='SGD', lr=0.1, momentum=-0.9), 'optim_wrapper.optimizer.momentum=-0.9 must be in '
     '[0, 1).'),
    (dict(type='SGD', lr=float('nan')), 'optim_wrapper.optimizer.lr=nan must be >= 0.'),
    (dict(type='AdamW', lr=1e-3, betas=(0.9, 1.5)), 'optim_wrapper.optimizer.betas=(0.9, 1.5) '
     'must be two numbers in [0, 1).'),
    (dict(type='AdamW', lr=1e-3, eps=0.0), 'optim_wrapper.optimizer.eps=0.0 must be > 0.'),
    (dict(type='RMSprop', lr=1e-3, momentum=1.2), 'optim_wrapper.optimizer.momentum=1.2 must be '
     'in [0, 1).'),
    (dict(type='RMSprop', lr=1e-3, alpha=1.5), 'optim_wrapper.optimizer.alpha=1.5 must be in '
     '[0, 1].'),
])
def test_impossible_values_are_refused_naming_the_key(optimizer, message):
    with pytest.raises(ConfigValueError) as info:
        build_optimizer(Tiny(), dict(optimizer=optimizer))
    assert str(info.value) == message
    assert is_expected_error(info.value)


def test_paramwise_multipliers_are_checked():
    with pytest.raises(ConfigValueError, match=r"custom_keys\['fc'\]\.lr_mult=-1 must be >= 0"):
        build_optimizer(Tiny(), dict(optimizer=dict(type='SGD', lr=0.1),
                                     paramwise_cfg=dict(custom_keys={'fc': dict(lr_mult=-1)})))


@pytest.mark.parametrize('optimizer', [
    dict(type='SGD', lr=0.0, momentum=0.0, weight_decay=0.0),
    dict(type='SGD', lr=0.1, momentum=0.99, weight_decay=5e-4, nesterov=True),
    dict(type='AdamW', lr=1e-3, betas=(0.0, 0.999), eps=1e-8, weight_decay=0.05),
    dict(type='RMSprop', lr=0.045, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=4e-5),
])
def test_usual_values_build(optimizer):
    assert build_optimizer(Tiny(), dict(optimizer=optimizer)) is not None
