"""The Hook base class: one no-op method per stage of ``Hook.stages``, and every
stage the runner and the loops call is among them."""
import os.path as osp
import re

from mmcls_ms.engine.hooks.hook import Hook

RUNNER = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                  'mmcls_ms', 'engine', 'runner')


def called_stages():
    names = set()
    for name in ('runner.py', 'loops.py'):
        with open(osp.join(RUNNER, name)) as f:
            for stage in re.findall(r"call_hook\(f?'([\w{}]+)'", f.read()):
                names.update(stage.replace('{mode}', mode) for mode in ('train', 'val', 'test'))
    return names


def test_every_called_stage_is_a_hook_method():
    called = called_stages()
    assert len(called) > 10
    assert called <= set(Hook.stages)


def test_a_stage_does_nothing_unless_overridden():
    calls = []

    class Recorder(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            calls.append((batch_idx, outputs))

    hook = Recorder()
    for stage in Hook.stages:
        assert getattr(Hook(), stage)('runner', batch_idx=0, data_batch=None) is None
    hook.before_train_iter('runner', batch_idx=3, data_batch=None)
    hook.after_train_iter('runner', batch_idx=3, data_batch=None, outputs='loss')
    hook.after_val_epoch('runner', metrics={'accuracy/top1': 1.0})
    assert calls == [(3, 'loss')]
