"""The recipe hooks: EarlyStoppingHook decides as mmengine's does,
PreciseBNHook's statistics equal a numpy reference, and in a real training
the validation loss is logged, early stopping ends the run, and the top-k
checkpoints are kept across --resume."""
import glob
import json
import logging
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from mmcls_ms.engine import Runner
from mmcls_ms.engine.hooks import EarlyStoppingHook, Hook
from mmcls_ms.engine.hooks.early_stopping_hook import infer_rule
from mmcls_ms.engine.hooks.precise_bn_hook import update_bn_stats
from mmcls_ms.models.utils import build_norm_layer
from mmcls_ms.registry import HOOKS
from engine_fixtures import tiny_cfg


def mmengine_early_stopping(values, rule, min_delta, patience, threshold=None):
    """mmengine's EarlyStoppingHook checks, written out: the 1-based index of
    the validation that stops training, or None."""
    delta = min_delta if rule == 'greater' else -min_delta
    better = (lambda a, b: a > b) if rule == 'greater' else (lambda a, b: a < b)
    best, wait = (-math.inf if rule == 'greater' else math.inf), 0
    for i, value in enumerate(values, 1):
        if not math.isfinite(value):
            return i
        if threshold is not None and better(value, threshold):
            return i
        if better(best + delta, value):
            wait += 1
            if wait >= patience:
                return i
        else:
            best, wait = value, 0
    return None


def stop_index(hook, key, values):
    state = SimpleNamespace(stop_training=False)
    runner = SimpleNamespace(train_loop=state, hook_state={},
                             logger=logging.getLogger('test'))
    for i, value in enumerate(values, 1):
        hook.after_val_epoch(runner, {key: value})
        if state.stop_training:
            return i
    return None


@pytest.mark.parametrize('key,values,kwargs', [
    ('accuracy/top1', [50, 60, 60.05, 60.2, 60.1, 59], dict(patience=2)),
    ('accuracy/top1', [50, 60, 60.05, 60.2, 60.1, 59], dict(patience=3)),
    ('accuracy/top1', [50, 55, 80, 90], dict(patience=1, stopping_threshold=85)),
    ('val_loss', [1.0, 0.8, 0.75, 0.74, 0.9], dict(patience=2, min_delta=0.05)),
    ('val_loss', [1.0, float('nan'), 0.5], dict(patience=5)),
    ('accuracy/top1', [50, 50, 50, 50], dict(patience=3, min_delta=0.0)),
])
def test_early_stopping_follows_mmengine(key, values, kwargs):
    rule = infer_rule(key)
    want = mmengine_early_stopping(values, rule, kwargs.get('min_delta', 0.1),
                                   kwargs['patience'], kwargs.get('stopping_threshold'))
    hook = HOOKS.build(dict(type='EarlyStoppingHook', monitor=key, **kwargs))
    assert stop_index(hook, key, values) == want


def test_early_stopping_arguments():
    assert infer_rule('auc') == 'greater' and infer_rule('precision/macro') == 'greater'
    with pytest.raises(ValueError, match="rule='greater'"):
        EarlyStoppingHook(monitor='f1-ish')
    with pytest.raises(ValueError, match='patience'):
        EarlyStoppingHook(monitor='accuracy/top1', patience=0)
    strict = EarlyStoppingHook(monitor='accuracy/top5', strict=True)
    with pytest.raises(KeyError, match='accuracy/top5'):
        stop_index(strict, 'accuracy/top1', [1.0])
    with pytest.warns(UserWarning, match='accuracy/top5'):
        stop_index(EarlyStoppingHook(monitor='accuracy/top5'), 'accuracy/top1', [1.0])


class TwoBN(nn.Cell):
    """BN -> 1x1 conv -> BN, every BN in training mode."""

    def __init__(self):
        super().__init__()
        self.bn1 = build_norm_layer(dict(type='BN', momentum=0.1), 3)
        self.conv = nn.Conv2d(3, 4, 1, has_bias=True, bias_init='normal')
        self.bn2 = build_norm_layer(dict(type='BN', momentum=0.3), 4)

    def construct(self, x):
        return self.bn2(self.conv(self.bn1(x.astype(ms.float32))))


def test_precise_bn_equals_numpy_reference():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    model = TwoBN()
    model.set_train(True)
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 256, (4, 3, 5, 5), dtype=np.uint8) for _ in range(3)]
    weight = model.conv.weight.asnumpy()[:, :, 0, 0].astype(np.float64)
    bias = model.conv.bias.asnumpy().astype(np.float64)
    stats = {1: [], 2: []}
    for x in batches:
        x = x.astype(np.float64)
        mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), ddof=1)
        stats[1].append((mean, var))
        normed = (x - mean[None, :, None, None]) / np.sqrt(
            x.var((0, 2, 3))[None, :, None, None] + 1e-5)
        y = np.einsum('oc,nchw->nohw', weight, normed) + bias[None, :, None, None]
        stats[2].append((y.mean((0, 2, 3)), y.var((0, 2, 3), ddof=1)))
    assert update_bn_stats(model, batches) == 3
    for i, bn in ((1, model.bn1), (2, model.bn2)):
        np.testing.assert_allclose(bn.moving_mean.asnumpy(),
                                   np.mean([m for m, _ in stats[i]], 0), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(bn.moving_variance.asnumpy(),
                                   np.mean([v for _, v in stats[i]], 0), rtol=1e-4, atol=1e-4)
    assert model.bn1.momentum == pytest.approx(0.1)  # unchanged


class Interrupted(Exception):
    pass


@HOOKS.register_module(force=True)
class InterruptBeforeEpochHook(Hook):
    """Simulates a run killed during epoch ``epoch`` (1-based), after the
    previous epoch's checkpoint and validation."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def before_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise Interrupted()


def run_training(root, work_dir, epochs, hooks, resume=False):
    cfg = tiny_cfg(root, work_dir, epochs=epochs, custom_hooks=hooks, resume=resume,
                   **{'default_hooks.checkpoint.save_best': None})
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.mark.slow
def test_val_loss_early_stopping_and_top_k(tiny_digits, tmp_path):
    root, n_train, _ = tiny_digits
    work = str(tmp_path / 'run')
    hooks = [dict(type='TopKCheckpointHook', k=2, monitor='val_loss'),
             # an improvement of 100 is impossible: stops after patience validations
             dict(type='EarlyStoppingHook', monitor='accuracy/top1', min_delta=100, patience=2),
             dict(type='PreciseBNHook', num_samples=32, priority='ABOVE_NORMAL')]
    runner = run_training(root, work, epochs=4, hooks=hooks)
    assert runner.epoch == 3 and runner.iter == 3 * (n_train // 16)  # stopped after epoch 3
    metrics = runner.val_loop.last_metrics
    assert list(metrics)[-1] == 'val_loss' and 0 < metrics['val_loss'] < 10
    log_text = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'val_loss: ' in log_text and 'Early stopping:' in log_text
    assert log_text.count('PreciseBN: BN statistics averaged over 2 batches') == 3
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))[0]
    val = [json.loads(line) for line in open(scalars) if 'val_loss' in line]
    assert [r['step'] for r in val] == [1, 2, 3]
    losses = [r['val_loss'] for r in val]
    ranking = json.load(open(osp.join(work, 'top_k_checkpoints.json')))
    best_two = sorted(range(3), key=lambda i: losses[i])[:2]
    assert [e['step'] for e in ranking] == [i + 1 for i in best_two]
    kept = sorted(glob.glob(osp.join(work, 'top_val_loss_epoch_*.ckpt')))
    assert kept == sorted(e['path'] for e in ranking)


@pytest.mark.slow
def test_top_k_survives_resume(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    hooks = [dict(type='TopKCheckpointHook', k=2, monitor='val_loss')]
    straight = str(tmp_path / 'straight')
    run_training(root, straight, epochs=4, hooks=hooks)
    resumed = str(tmp_path / 'resumed')
    with pytest.raises(Interrupted):
        run_training(root, resumed, epochs=4,
                     hooks=hooks + [dict(type='InterruptBeforeEpochHook', epoch=3)])
    run_training(root, resumed, epochs=4, hooks=hooks, resume=True)
    rank = [json.load(open(osp.join(d, 'top_k_checkpoints.json'))) for d in (straight, resumed)]
    assert [e['step'] for e in rank[0]] == [e['step'] for e in rank[1]]
    np.testing.assert_allclose([e['score'] for e in rank[0]], [e['score'] for e in rank[1]],
                               rtol=1e-5)
    assert len(glob.glob(osp.join(resumed, 'top_val_loss_epoch_*.ckpt'))) == 2


def test_validation_loss_from_scores_and_none_for_a_sigmoid_loss(tiny_digits, tmp_path):
    from mmcls_ms.engine.runner.loops import validation_loss
    from mmcls_ms.models import LabelSmoothLoss
    root, _, _ = tiny_digits
    runner = Runner.from_cfg(tiny_cfg(root, tmp_path / 'w'))
    rng = np.random.default_rng(0)
    scores = rng.dirichlet(np.ones(10), size=6).astype(np.float32)
    labels = np.array([0, 3, 9, -1, 2, 2])  # -1: unlabelled, left out
    want = -np.log(scores[labels >= 0, labels[labels >= 0]]).mean()
    assert validation_loss(runner, [(scores, labels)]) == pytest.approx(want, rel=1e-5)
    # a sigmoid loss needs the logits, which softmax scores do not determine
    runner.model.head.loss_module = LabelSmoothLoss(0.1, mode='multi_label')
    assert validation_loss(runner, [(scores, labels)]) is None
