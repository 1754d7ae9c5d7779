"""The runner end to end on real images: training, evaluation, resume, errors."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.engine import Hook, Runner
from mmcls_ms.engine.runner import ConfigError
from mmcls_ms.registry import HOOKS
from mmcls_ms.weights.checkpoint import read_checkpoint
from engine_fixtures import tiny_cfg


class StopTraining(Exception):
    pass


@HOOKS.register_module(force=True)
class StopAfterEpochHook(Hook):
    """Simulates an interrupted run: stops after ``epoch`` epochs (once the
    checkpoint of that epoch is written)."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise StopTraining()


def weights(model):
    return {p.name: p.asnumpy().copy() for p in model.get_parameters()}


def test_train_val_test_and_logs(tiny_digits, tmp_path):
    root, n_train, n_val = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'run', epochs=2,
                   custom_hooks=[dict(type='EMAHook', momentum=0.2)])
    runner = Runner.from_cfg(cfg)
    runner.train()
    last_val = runner.val_loop.last_metrics
    assert set(last_val) == {'accuracy/top1', 'val_loss'}
    assert 0.0 <= last_val['accuracy/top1'] <= 100.0
    # the final val top-1 counts every one of the 49 val images once
    assert last_val['accuracy/top1'] * n_val / 100 == pytest.approx(
        round(last_val['accuracy/top1'] * n_val / 100), abs=1e-6)

    work_dir = str(tmp_path / 'run')
    assert osp.isfile(osp.join(work_dir, 'epoch_2.ckpt'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_2.ckpt')
    state, meta = read_checkpoint(osp.join(work_dir, 'epoch_2.ckpt'))
    assert meta['epoch'] == 2 and meta['iter'] == 2 * (n_train // 16)
    assert meta['dataset_meta']['classes'] == [str(i) for i in range(10)]
    assert any(k.startswith('optimizer.step.optimizer.moments.backbone.') for k in state)
    assert any(k.startswith('optimizer.ema.ema.backbone.') for k in state)
    assert 'optimizer.step.loss_scale' in state
    assert osp.isfile(osp.join(work_dir, 'vgg11bn-gap_1xb32_digits.py'))  # config dump

    # scalars: one JSON line per logged train interval and per validation
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))[0]
    records = [json.loads(line) for line in open(scalars)]
    train_records = [r for r in records if 'loss' in r]
    val_records = [r for r in records if 'accuracy/top1' in r]
    assert len(val_records) == 2 and val_records[-1]['step'] == 2
    assert all(np.isfinite(r['loss']) and r['lr'] > 0 for r in train_records)
    log_file = glob.glob(osp.join(work_dir, '*', '*.log'))[0]
    text = open(log_file).read()
    assert 'Epoch(train) [2][' in text and 'Epoch(val) [2]' in text and 'eta:' in text

    # tools/test.py on the last checkpoint reproduces the final validation
    # top-1 exactly (EMA weights are evaluated in both: they were swapped in for
    # validation; test.py loads the saved raw weights, so compare with a fresh
    # validation of the same checkpoint instead)
    from tools.test import main as test_main
    metrics = test_main([str(tmp_path / 'run' / 'vgg11bn-gap_1xb32_digits.py'),
                         osp.join(work_dir, 'epoch_2.ckpt'), '--work-dir',
                         str(tmp_path / 'test'), '--out', str(tmp_path / 'pred.json'),
                         '--out-item', 'pred'])
    preds = json.load(open(tmp_path / 'pred.json'))
    assert len(preds) == n_val
    assert sorted(p['sample_idx'] for p in preds) == list(range(n_val))
    correct = sum(p['pred_label'] == p['gt_label'] for p in preds)
    assert metrics['accuracy/top1'] == pytest.approx(100.0 * correct / n_val)
    assert all(abs(sum(p['pred_scores']) - 1) < 1e-4 for p in preds)


def test_test_py_reproduces_final_validation(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'run', epochs=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    final = runner.val_loop.last_metrics['accuracy/top1']
    from tools.test import main as test_main
    metrics = test_main([str(tmp_path / 'run' / 'vgg11bn-gap_1xb32_digits.py'),
                         str(tmp_path / 'run' / 'epoch_1.ckpt'), '--work-dir',
                         str(tmp_path / 'test')])
    assert metrics['accuracy/top1'] == final


def test_resume_is_exact(tiny_digits, tmp_path):
    """2 epochs + resume == 4 epochs, dropout included: its masks follow
    (seed, step, layer), not a kernel's generator that no checkpoint holds."""
    root, _, _ = tiny_digits
    dropout = {'model.head.dropout': 0.5}
    straight = Runner.from_cfg(tiny_cfg(root, tmp_path / 'a', epochs=4, **dropout))
    straight.train()

    interrupted = Runner.from_cfg(tiny_cfg(
        root, tmp_path / 'b', epochs=4, custom_hooks=[dict(type='StopAfterEpochHook', epoch=2)],
        **dropout))
    with pytest.raises(StopTraining):
        interrupted.train()
    resumed = Runner.from_cfg(tiny_cfg(root, tmp_path / 'b', epochs=4, resume=True, **dropout))
    resumed.train()
    assert resumed.completed_iters == straight.completed_iters
    a, b = weights(straight.model), weights(resumed.model)
    assert a.keys() == b.keys()
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    assert worst <= 1e-6, worst
    # and it really trained: the weights moved away from the interrupted run's
    assert resumed.current_lr() == pytest.approx(straight.current_lr())


def test_missing_key_unknown_optimizer_and_nan_loss(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'c', epochs=1)
    cfg.train_cfg = None  # as if the config never set it
    with pytest.raises(ConfigError, match='no `train_cfg`'):
        Runner.from_cfg(cfg).train()

    cfg = tiny_cfg(root, tmp_path / 'd', epochs=1, **{'optim_wrapper.optimizer.type': 'SDG'})
    with pytest.raises(KeyError, match=r"Unknown type 'SDG' in the 'optimizer' registry.*"
                                       r"Did you mean 'SGD'"):
        Runner.from_cfg(cfg).train()

    cfg = tiny_cfg(root, tmp_path / 'e', epochs=1)
    cfg.model.head.loss.loss_weight = float('nan')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FloatingPointError, match='at iteration 1 .*no longer usable'):
        runner.train()
    assert not glob.glob(str(tmp_path / 'e' / '*.ckpt'))

    # with mixed precision (a static loss scale) the step is skipped instead
    cfg = tiny_cfg(root, tmp_path / 'f', epochs=1, **{
        'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.loss_scale': 4.0})
    cfg.model.head.loss.loss_weight = float('nan')
    runner = Runner.from_cfg(cfg)
    before = weights(runner.model)
    with pytest.raises(FloatingPointError, match='at iteration 1 .*did not update'):
        runner.train()
    after = weights(runner.model)
    trainable = {p.name for p in runner.model.trainable_params()}
    assert all(np.array_equal(before[k], after[k]) for k in trainable)
    assert not glob.glob(str(tmp_path / 'f' / '*.ckpt'))


def test_no_checkpoint_from_non_finite_weights(tiny_digits, tmp_path):
    """fp32 updates are unchecked: a gradient that was not finite while the loss
    was reaches the weights before the loss; the save refuses them."""
    import mindspore as ms
    root, _, _ = tiny_digits
    runner = Runner.from_cfg(tiny_cfg(root, tmp_path / 'g', epochs=1))
    runner.train()
    good = sorted(glob.glob(str(tmp_path / 'g' / '*.ckpt')))
    assert good
    stamps = {path: os.path.getmtime(path) for path in good}
    param = runner.model.trainable_params()[0]
    bad = param.asnumpy().copy()
    bad.flat[0] = np.nan
    param.set_data(ms.Tensor(bad))
    target = str(tmp_path / 'g' / 'epoch_2.ckpt')
    with pytest.raises(FloatingPointError, match=f'Not writing .*epoch_2.ckpt.*{param.name}'):
        runner.save_checkpoint(target)
    assert not os.path.exists(target)
    assert {path: os.path.getmtime(path) for path in good} == stamps


def test_resume_path_must_exist(tmp_path):
    from tools.train import main as train_main
    with pytest.raises(FileNotFoundError, match='no such checkpoint'):
        train_main(['configs/vgg/vgg11bn-gap_1xb32_digits.py', '--work-dir', str(tmp_path),
                    '--resume', str(tmp_path / 'missing.ckpt'),
                    '--cfg-options', 'train_dataloader.num_workers=0'])


def test_amp_runs_with_dynamic_loss_scale(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'amp', epochs=1, **{
        'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.loss_scale': 'dynamic'})
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.optim_wrapper.dynamic
    assert float(runner.train_step.loss_scale.asnumpy()) >= 1.0
    assert all(np.isfinite(v) for v in runner.scalars['loss'])


def test_pynative_mode_trains_like_graph_mode(tiny_digits, tmp_path):
    """env_cfg.mode='pynative' (for debugging) runs the same step op by op."""
    import mindspore as ms
    root, _, _ = tiny_digits
    previous = ms.get_context('mode')
    losses = {}
    try:
        for mode in ('graph', 'pynative'):
            cfg = tiny_cfg(root, tmp_path / mode, epochs=1, **{'env_cfg.mode': mode})
            cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
            runner = Runner.from_cfg(cfg)
            runner.train()
            assert ms.get_context('mode') == (ms.GRAPH_MODE if mode == 'graph'
                                              else ms.PYNATIVE_MODE)
            losses[mode] = runner.scalars['loss']
    finally:
        ms.set_context(mode=previous)
    np.testing.assert_allclose(losses['graph'], losses['pynative'], rtol=1e-4, atol=1e-5)
