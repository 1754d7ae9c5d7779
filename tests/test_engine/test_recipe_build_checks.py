"""The recipe keys' bad values fail when the Runner is built from the config,
with the key named: before any data is read (the digits folder of the config
is never written) and before any step is compiled."""
import os
import os.path as osp
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from mmcls_ms.datasets import EmptyDatasetError
from mmcls_ms.engine import Runner
from mmcls_ms.utils.config import ConfigValueError, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECIPE = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb16-accum2-mixup-cutmix_digits.py')
INNER = 'train_dataloader.dataset.dataset'


def recipe(tmp_path, **overrides):
    """The recipe config, its digits in a folder that only reading the data would create."""
    root = str(tmp_path / 'digits')
    return root, load_config(RECIPE, {
        'work_dir': str(tmp_path / 'work'), f'{INNER}.data_root': root,
        'val_dataloader.dataset.data_root': root, **overrides})


def wrapped(**cfg):
    """A train dataset config ``cfg`` around the recipe's digits."""
    return dict(_delete_=True, **cfg)


BAD_VALUES = [
    # (override, the key the message names, the value it quotes)
    ({'optim_wrapper.accumulative_counts': 0}, 'optim_wrapper.accumulative_counts', '=0'),
    ({'optim_wrapper.accumulative_counts': -2}, 'optim_wrapper.accumulative_counts', '=-2'),
    ({'optim_wrapper.accumulative_counts': 2.5}, 'optim_wrapper.accumulative_counts', '=2.5'),
    ({'optim_wrapper.accumulative_counts': True}, 'optim_wrapper.accumulative_counts', '=True'),
    ({'optim_wrapper.type': 'OptimWrapperDict'}, 'optim_wrapper.type', 'OptimWrapperDict'),
    ({'model.train_cfg.augments': [dict(type='Mixup', alpha=0.0)]},
     'model.train_cfg.augments[0]', 'Mixup alpha'),
    ({'model.train_cfg.augments': [dict(type='Mixup', alpha=0.2),
                                   dict(type='CutMix', alpha=-1.0)]},
     'model.train_cfg.augments[1]', 'CutMix alpha'),
    ({'model.train_cfg.augments': [dict(type='ResizeMix', alpha=0)],
      'model.train_cfg.probs': None}, 'model.train_cfg.augments[0]', 'ResizeMix alpha'),
    ({'model.train_cfg.probs': [0.5, -0.1]}, 'model.train_cfg.probs', '-0.1'),
    ({'model.train_cfg.probs': [0.6, 0.5]}, 'model.train_cfg.probs', 'sum to at most 1'),
    ({'train_dataloader.dataset.times': 0}, 'train_dataloader.dataset.times', '=0'),
    ({'train_dataloader.dataset': wrapped(type='ConcatDataset', datasets=[])},
     'train_dataloader.dataset.datasets', 'at least one dataset'),
    ({'train_dataloader.dataset': wrapped(type='RepeatDataset', times=2)},
     'train_dataloader.dataset.dataset', 'missing'),
    ({'train_dataloader.dataset': wrapped(type='ClassBalancedDataset', oversample_thr=0,
                                          dataset=dict(type='Digits'))},
     'train_dataloader.dataset.oversample_thr', '(0, 1]'),
    ({'train_dataloader.dataset': wrapped(type='ClassBalancedDataset', oversample_thr=1.5,
                                          dataset=dict(type='Digits'))},
     'train_dataloader.dataset.oversample_thr', '=1.5'),
    ({'train_dataloader.dataset': wrapped(type='KFoldDataset', fold=5, num_splits=5,
                                          dataset=dict(type='Digits'))},
     'train_dataloader.dataset.fold', '[0, 5)'),
    ({'train_dataloader.dataset': wrapped(type='KFoldDataset', fold=-1,
                                          dataset=dict(type='Digits'))},
     'train_dataloader.dataset.fold', '=-1'),
    # a wrapper inside a wrapper, and in the validation loader
    ({'train_dataloader.dataset': wrapped(type='ConcatDataset', datasets=[
        dict(type='Digits'), dict(type='KFoldDataset', fold=3, num_splits=3,
                                  dataset=dict(type='Digits'))])},
     'train_dataloader.dataset.datasets[1].fold', '=3'),
    ({'val_dataloader.dataset': wrapped(type='ClassBalancedDataset', oversample_thr=-0.5,
                                        dataset=dict(type='Digits'))},
     'val_dataloader.dataset.oversample_thr', '=-0.5'),
]


@pytest.mark.parametrize('overrides,key,value', BAD_VALUES,
                         ids=[f'{key}{value}' for _, key, value in BAD_VALUES])
def test_bad_recipe_value_fails_at_build_naming_the_key(tmp_path, overrides, key, value):
    root, cfg = recipe(tmp_path, **overrides)
    with pytest.raises(ConfigValueError) as err:
        Runner.from_cfg(cfg)
    message = str(err.value)
    assert message.startswith(key) and value in message, message
    assert '\n' not in message
    assert not osp.exists(root)  # no data was read (the digits are written on first read)


def test_good_recipe_values_pass_the_build_checks(tmp_path):
    root, cfg = recipe(tmp_path, **{
        'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.accumulative_counts': 1,
        'model.train_cfg.probs': [0.5, 0.5],
        'train_dataloader.dataset': wrapped(type='ConcatDataset', datasets=[
            dict(type='ClassBalancedDataset', oversample_thr=1, dataset=dict(type='Digits')),
            dict(type='KFoldDataset', fold=4, dataset=dict(type='Digits'))])})
    runner = Runner.from_cfg(cfg)
    assert runner.model.data_preprocessor.batch_augments is not None
    assert not osp.exists(root)


def test_empty_wrapped_dataset_fails_before_the_step_is_compiled(tmp_path):
    folder = tmp_path / 'images' / '0'
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    _, cfg = recipe(tmp_path, **{f'{INNER}': dict(  # `indices=0`: the first 0 images
        _delete_=True, type='CustomDataset', data_prefix=str(folder.parent), indices=0,
        pipeline=[dict(type='PackInputs')])})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(EmptyDatasetError) as err:
        runner.train()
    assert str(err.value).startswith('train_dataloader.dataset: RepeatDataset: the wrapped '
                                     'dataset (CustomDataset) is empty')
    assert runner.train_step is None  # nothing was compiled


def test_train_tool_refuses_in_one_line_without_compiling(tmp_path):
    root = str(tmp_path / 'digits')
    env = dict(os.environ, PYTHONPATH=REPO)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), RECIPE, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'optim_wrapper.accumulative_counts=0',
         f'{INNER}.data_root={root}'],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in (proc.stdout + proc.stderr).splitlines()
              if line.startswith('error:')]
    assert errors == ['error: optim_wrapper.accumulative_counts=0 must be an int >= 1 (the '
                      'iterations summed per update).'], proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr and not osp.exists(root)
    assert elapsed < 60  # the import and the config only: no data, no compile
