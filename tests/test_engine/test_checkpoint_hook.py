"""CheckpointHook bookkeeping across ``--resume``: max_keep_ckpts, the best
checkpoint, a killed writer's temporary file, and resuming from a best file."""
import glob
import os.path as osp
import subprocess
import sys

import pytest

from mmcls_ms.engine import Hook, Runner
from mmcls_ms.evaluation.metrics.base import BaseMetric
from mmcls_ms.registry import HOOKS, METRICS
from engine_fixtures import tiny_cfg

# the validation score of each successive validation, across both runs
SCORES = []


@METRICS.register_module(force=True)
class ScriptedScore(BaseMetric):
    """Returns the next value of ``SCORES``: the best epoch is known in advance."""

    def compute(self, pred_scores, pred_labels, gt_labels):
        return {'score': SCORES.pop(0)}


class Interrupted(Exception):
    pass


@HOOKS.register_module(force=True)
class StopAfterValHook(Hook):
    """Stops the run after the validation of ``epoch`` (the best file of that
    epoch is written, the periodic checkpoint before it knows nothing of it)."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_val_epoch(self, runner, metrics=None):
        if runner.epoch == self.epoch:
            raise Interrupted()


def _cfg(root, work_dir, epochs, **options):
    cfg = tiny_cfg(root, work_dir, epochs=epochs, **options)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                        save_best='score', rule='greater')
    cfg.val_evaluator = dict(type='ScriptedScore')
    for split in ('train', 'val'):  # 32 + 16 images: two steps an epoch
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = f'{split}_bookkeeping.txt'
    return cfg


def _subset(root, name, source, count):
    lines = open(osp.join(root, source)).read().splitlines()
    with open(osp.join(root, name), 'w') as f:
        f.write('\n'.join(lines[::len(lines) // count][:count]) + '\n')


def _names(work_dir, pattern):
    return sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, pattern)))


def test_bookkeeping_continues_across_resume(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    _subset(root, 'train_bookkeeping.txt', 'tiny_train.txt', 32)
    _subset(root, 'val_bookkeeping.txt', 'tiny_val.txt', 16)
    work = str(tmp_path / 'work')

    # epoch 2 is the best so far; the run stops right after saving its best file
    SCORES[:] = [1.0, 2.0]
    with pytest.raises(Interrupted):
        Runner.from_cfg(_cfg(root, work, epochs=4, custom_hooks=[
            dict(type='StopAfterValHook', epoch=2)])).train()
    assert _names(work, 'epoch_*.ckpt') == ['epoch_1.ckpt', 'epoch_2.ckpt']
    assert _names(work, 'best_*') == ['best_score_epoch_2.ckpt']

    # a save killed mid-write (of a best file, whose name is never written again)
    # left its temporary file behind
    leftover = subprocess.run(
        [sys.executable, '-c', 'import os, sys; name = f".best_score_epoch_2.ckpt.tmp-'
         '{os.getpid()}-x.ckpt"; open(os.path.join(sys.argv[1], name), "wb").write(b"partial");'
         'print(name)', work],
        capture_output=True, text=True, check=True).stdout.strip()
    assert osp.isfile(osp.join(work, leftover))

    # epoch 3 scores between epochs 1 and 2 (not a new best); epoch 4 is the best
    SCORES[:] = [1.5, 3.0]
    resumed = Runner.from_cfg(_cfg(root, work, epochs=4, resume=True))
    epoch3_best = []

    @HOOKS.register_module(force=True)
    class WatchBest(Hook):
        priority = 'LOWEST'

        def after_val_epoch(self, runner, metrics=None):
            if runner.epoch == 3:
                epoch3_best.extend(_names(work, 'best_*'))

    resumed.hooks.append(WatchBest())
    resumed.train()
    assert not osp.exists(osp.join(work, leftover))
    assert epoch3_best == ['best_score_epoch_2.ckpt']
    # max_keep_ckpts=2 counts the checkpoints written before the resume
    assert _names(work, 'epoch_*.ckpt') == ['epoch_3.ckpt', 'epoch_4.ckpt']
    # the best file of the interrupted run was superseded and removed
    assert _names(work, 'best_*') == ['best_score_epoch_4.ckpt']

    # a best file has no optimizer state: resuming from it is refused in one line
    best = osp.join(work, 'best_score_epoch_4.ckpt')
    again = Runner.from_cfg(_cfg(root, str(tmp_path / 'other'), epochs=5, resume=True,
                                 load_from=best))
    with pytest.raises(ValueError, match='holds the weights only, no optimizer state') as err:
        again.train()
    assert '\n' not in str(err.value) and f'load_from={best}' in str(err.value)
