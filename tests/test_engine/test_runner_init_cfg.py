"""The runner applies init_cfg when training starts, before the first step,
and before load_from (as mmengine's Runner.train)."""
import numpy as np
import pytest

from mmcls_ms.engine import Hook, Runner
from mmcls_ms.registry import HOOKS, MODELS
from mmcls_ms.weights.checkpoint import save_checkpoint
from engine_fixtures import tiny_cfg


class FirstStepReached(Exception):
    pass


@HOOKS.register_module(force=True)
class CaptureBeforeFirstStepHook(Hook):
    """Keeps the weights the first training step would start from, then stops."""

    captured = {}

    def before_train_iter(self, runner, batch_idx=0, data_batch=None):
        CaptureBeforeFirstStepHook.captured = {
            n: p.asnumpy().copy() for n, p in runner.model.parameters_and_names()}
        raise FirstStepReached()


def pretrained_classifier(cfg, path, seed=11):
    """A classifier of ``cfg.model`` with random weights, saved at ``path``."""
    import mindspore as ms
    model = MODELS.build(cfg.model)
    rng = np.random.default_rng(seed)
    for _, p in model.parameters_and_names():
        p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32)))
    save_checkpoint(model, str(path), meta=dict(epoch=100))
    return {n: p.asnumpy() for n, p in model.parameters_and_names()}


def test_finetuning_config_starts_from_the_backbone_checkpoint(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'run', epochs=1,
                   custom_hooks=[dict(type='CaptureBeforeFirstStepHook')])
    source = pretrained_classifier(cfg, tmp_path / 'in1k.ckpt')
    # mmpretrain's fine-tuning form: the backbone from the checkpoint, a fresh head
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'in1k.ckpt'),
                                       prefix='backbone')
    runner = Runner.from_cfg(cfg)
    built_head = runner.model.head.fc.weight.asnumpy().copy()
    with pytest.raises(FirstStepReached):
        runner.train()
    start = CaptureBeforeFirstStepHook.captured
    backbone = [k for k in source if k.startswith('backbone.')]
    assert len(backbone) > 20
    for name in backbone:
        np.testing.assert_array_equal(start[name], source[name], err_msg=name)
    np.testing.assert_array_equal(start['head.fc.weight'], built_head)
    assert not np.array_equal(start['head.fc.weight'], source['head.fc.weight'])
