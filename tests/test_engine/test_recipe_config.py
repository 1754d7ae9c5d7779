"""The recipe config (accumulation, Mixup + CutMix, RepeatDataset,
EarlyStoppingHook, top-k checkpoints; here also RepeatAugSampler) trains end
to end: a short run on a digits subset in the
default test run, the full run to >= 97% top-1 with ``-m slow``."""
import glob
import json
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.datasets import prepare_digits
from mmcls_ms.engine import Runner
from mmcls_ms.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb16-accum2-mixup-cutmix_digits.py')


def test_recipe_smoke(tmp_path):
    root = str(tmp_path / 'digits')
    prepare_digits(root)
    work = str(tmp_path / 'work')
    cfg = load_config(RECIPE, {
        'work_dir': work,
        'train_cfg.max_epochs': 2,
        'param_scheduler': [],
        'train_dataloader.batch_size': 8,
        'train_dataloader.num_workers': 0,
        'train_dataloader.sampler': dict(type='RepeatAugSampler', shuffle=True, num_repeats=2),
        'train_dataloader.dataset.dataset.data_root': root,
        'train_dataloader.dataset.dataset.indices': list(range(0, 1440, 30)),  # 48 images
        'val_dataloader.num_workers': 0,
        'val_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.indices': list(range(0, 350, 10)),
        'default_hooks.logger.interval': 4,
    })
    runner = Runner.from_cfg(cfg)
    assert runner.model.data_preprocessor.batch_augments is not None
    runner.train()
    loader = runner.train_dataloader
    assert type(loader.dataset).__name__ == 'RepeatDataset' and len(loader) == 96 // 8
    assert runner.optim_wrapper.accumulative_counts == 2
    assert type(runner.train_step).__name__ == 'AccumulatingTrainStep'
    # the summed gradients were applied and cleared at the last update (24 iterations)
    assert all(not p.asnumpy().any() for p in runner.train_step.accum_grads)
    metrics = runner.val_loop.last_metrics
    assert np.isfinite(metrics['val_loss']) and 0 <= metrics['accuracy/top1'] <= 100
    ranking = json.load(open(osp.join(work, 'top_k_checkpoints.json')))
    assert len(ranking) == 2 and all(osp.isfile(e['path']) for e in ranking)
    assert np.isfinite(runner.scalars['loss']).all()


@pytest.mark.slow
def test_recipe_reaches_97_percent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data/digits is prepared here
    from tools.train import main as train_main
    runner = train_main([RECIPE, '--work-dir', str(tmp_path / 'work')])
    final = runner.val_loop.last_metrics['accuracy/top1']
    assert final >= 97.0, f'final val top-1 {final:.2f} < 97'
    assert len(glob.glob(str(tmp_path / 'work' / 'top_accuracy_top1_epoch_*.ckpt'))) == min(
        3, runner.epoch)
