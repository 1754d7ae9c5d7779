"""tools/kfold-cross-valid.py: each fold trains on the rest of the training
set and validates on its own held-out part; kfold_exp.json records the
progress and --resume continues from it."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.datasets.dataset_wrappers import kfold_indices

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'kfold_cross_valid', osp.join(REPO, 'tools', 'kfold-cross-valid.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def digits_subset(tmp_path_factory):
    from mmcls_ms.datasets import prepare_digits
    root = str(tmp_path_factory.mktemp('kdigits'))
    prepare_digits(root)
    return root


def options(root, epochs=1):
    return [f'train_cfg.max_epochs={epochs}', 'train_dataloader.batch_size=8',
            'val_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
            'val_dataloader.num_workers=0', f'train_dataloader.dataset.data_root={root}',
            'train_dataloader.dataset.indices=' + str(list(range(0, 1400, 29))), 'param_scheduler=[]',
            'default_hooks.logger.interval=1']


def test_fold_config_uses_held_out_part_of_training_set():
    tool = load_tool()
    from mmcls_ms.utils.config import load_config
    cfg = tool.fold_config(load_config(CONFIG, ['work_dir=w']), fold=1, num_splits=3, seed=4)
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.type == val.type == 'KFoldDataset' and cfg.work_dir == osp.join('w', 'fold1')
    assert (train.fold, train.num_splits, train.seed, train.get('test_mode', False)) == (
        1, 3, 4, False)
    assert val.test_mode and val.dataset.split == train.dataset.split  # the training data
    assert val.dataset.pipeline == load_config(CONFIG).val_dataloader.dataset.pipeline
    train_idx, test_idx = kfold_indices(30, 1, 3, 4)
    assert not set(train_idx) & set(test_idx) and len(train_idx) + len(test_idx) == 30


def test_bad_fold_is_refused():
    tool = load_tool()
    with pytest.raises(ValueError, match=r'--fold must be in \[0, 3\)'):
        tool.main([CONFIG, '--num-splits', '3', '--fold', '3'])


@pytest.mark.slow
def test_folds_train_and_resume(digits_subset, tmp_path):
    tool = load_tool()
    work = str(tmp_path / 'kfold')
    first = tool.main([CONFIG, '--num-splits', '2', '--fold', '0', '--work-dir', work,
                       '--seed', '3', '--cfg-options', *options(digits_subset)])
    assert sorted(first) == [0]
    info = json.load(open(osp.join(work, 'kfold_exp.json')))
    assert info == dict(fold=0, kfold_split_seed=3,
                        last_ckpt=osp.join(work, 'fold0', 'epoch_1.ckpt'))
    # a longer schedule: fold 0 continues from its checkpoint, then fold 1 runs
    results = tool.main([CONFIG, '--num-splits', '2', '--work-dir', work, '--resume',
                         '--cfg-options', *options(digits_subset, epochs=2)])
    assert sorted(results) == [0, 1]
    assert all(0 <= m['accuracy/top1'] <= 100 for m in results.values())
    assert osp.isfile(osp.join(work, 'fold0', 'epoch_2.ckpt'))
    assert osp.isfile(osp.join(work, 'fold1', 'epoch_2.ckpt'))
    info = json.load(open(osp.join(work, 'kfold_exp.json')))
    assert info['fold'] == 1 and info['kfold_split_seed'] == 3
