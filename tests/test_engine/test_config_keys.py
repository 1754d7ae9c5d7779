"""Unknown config keys warn with a "did you mean"; mmpretrain's own keys stay quiet."""
import glob
import os

import pytest

from mmcls_ms.engine import Runner
from mmcls_ms.engine.runner.config_keys import ACCEPTED_KEYS, check_config_keys
from mmcls_ms.utils.config import load_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(p for p in glob.glob(os.path.join(REPO, 'configs', '**', '*.py'),
                                      recursive=True) if f'{os.sep}_base_{os.sep}' not in p)
QUICKSTART = os.path.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def test_every_config_loads_without_a_key_warning():
    assert len(CONFIGS) >= 10
    for path in CONFIGS:
        assert check_config_keys(load_config(path)) == [], path


@pytest.mark.parametrize('option, key, suggestion', [
    ('optim_wraper.clip_grad=None', 'optim_wraper', 'optim_wrapper'),
    ('train_dataloader.batch_sise=16', 'train_dataloader.batch_sise',
     'train_dataloader.batch_size'),
    ('val_dataloader.num_worker=1', 'val_dataloader.num_worker', 'val_dataloader.num_workers'),
    ('optim_wrapper.optimizer.momentun=0.9', 'optim_wrapper.optimizer.momentun',
     'optim_wrapper.optimizer.momentum'),
    ('optim_wrapper.clip_gard=None', 'optim_wrapper.clip_gard', 'optim_wrapper.clip_grad'),
    ('env_cfg.mdoe=pynative', 'env_cfg.mdoe', 'env_cfg.mode'),
    ('train_cfg.max_epoch=3', 'train_cfg.max_epoch', 'train_cfg.max_epochs'),
    ('train_cfg.val_intreval=2', 'train_cfg.val_intreval', 'train_cfg.val_interval'),
    ('randomness.sed=1', 'randomness.sed', 'randomness.seed'),
    ('auto_scale_lr.base_batchsize=64', 'auto_scale_lr.base_batchsize',
     'auto_scale_lr.base_batch_size'),
    ('default_hooks.checkpiont.interval=2', 'default_hooks.checkpiont',
     'default_hooks.checkpoint'),
])
def test_a_typo_warns_naming_the_key_and_the_suggestion(option, key, suggestion):
    messages = check_config_keys(load_config(QUICKSTART, [option]))
    assert len(messages) == 1, messages
    assert f'`{key}`' in messages[0] and f'Did you mean `{suggestion}`?' in messages[0]


def test_mmpretrain_keys_that_mean_nothing_here_stay_quiet():
    options = {'env_cfg.cudnn_benchmark': False,
               'env_cfg.mp_cfg': dict(mp_start_method='fork', opencv_num_threads=0),
               'train_dataloader.persistent_workers': True,
               'train_dataloader.pin_memory': True,
               'dataset_type': 'ImageNet', 'data_root': 'data/imagenet',
               'bgr_mean': [103.53, 116.28, 123.675],
               # the config's own variables are not config keys
               'my_image_size': 224}
    assert check_config_keys(load_config(QUICKSTART, options)) == []
    assert 'cudnn_benchmark' in ACCEPTED_KEYS['env_cfg']


def test_an_iteration_based_loop_and_amp_wrapper_know_their_keys():
    cfg = load_config(QUICKSTART, {
        'train_cfg': dict(_delete_=True, type='IterBasedTrainLoop', max_iters=10,
                          val_interval=5, max_epochs=3),
        'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.loss_scale': 'dynamic',
        'optim_wrapper.optimizer': dict(_delete_=True, type='AdamW', lr=1e-3, betas=(0.9, 0.99),
                                        eps=1e-8, weight_decay=0.05, momentum=0.9)})
    messages = check_config_keys(cfg)
    assert len(messages) == 2, messages
    assert any('`train_cfg.max_epochs` is not read' in m for m in messages)
    assert any('`optim_wrapper.optimizer.momentum` is not read' in m for m in messages)


def test_the_runner_logs_the_warning(tmp_path):
    cfg = load_config(QUICKSTART, {'work_dir': str(tmp_path / 'run'),
                                   'optim_wraper': dict(clip_grad=None)})
    runner = Runner.from_cfg(cfg)
    log = open(glob.glob(str(tmp_path / 'run' / '*' / '*.log'))[0]).read()
    assert 'WARNING - Config key `optim_wraper` is not read by mmcls_ms' in log
    assert 'Did you mean `optim_wrapper`?' in log
    assert runner.visualizer.backends  # the quickstart's LocalVisBackend
