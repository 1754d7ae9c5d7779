"""VGG with its classifier (two dropout layers): 2 epochs + ``--resume`` equals
4 epochs within 1e-6, on the command line."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmcls_ms.datasets import prepare_digits
from mmcls_ms.weights.checkpoint import read_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIG = """
_base_ = ['{repo}/configs/vgg/vgg11bn-gap_1xb32_digits.py']
# VGG-11 without BN and with mmpretrain's classifier (dropout 0.5 twice); the
# adaptive pool takes the 1x1 map of 32x32 digits to the classifier's 7x7
model = dict(backbone=dict(norm_cfg=None, num_classes=10, adaptive_pool=True),
             neck=None, head=dict(_delete_=True, type='ClsHead',
                                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
ds = dict(_delete_=True, type='CustomDataset', data_root='{root}', data_prefix='',
          ann_file='subset.txt', classes=[str(i) for i in range(10)])
train_dataloader = dict(batch_size=8, num_workers=0,
                        dataset=dict(ds, pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_epochs=4)
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=4)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=5)
"""


@pytest.mark.slow
def test_vgg_with_classifier_resumes_exactly(tmp_path):
    root = str(tmp_path / 'digits')
    prepare_digits(root)
    lines = []
    for label in range(10):
        names = sorted(os.listdir(osp.join(root, 'train', str(label))))[:2]
        lines += [f'train/{label}/{n} {label}' for n in names]
    with open(osp.join(root, 'subset.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')  # 20 images: two steps of 8 an epoch
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(repo=REPO, root=root))

    def train(work, *extra):
        out = subprocess.run([sys.executable, 'tools/train.py', str(cfg), '--work-dir',
                              str(tmp_path / work), *extra], cwd=REPO, capture_output=True,
                             text=True, timeout=1200)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return out

    train('straight')
    train('resumed', '--cfg-options', 'train_cfg.max_epochs=2',
          'param_scheduler.T_max=4')
    out = train('resumed', '--resume')
    assert 'Resumed from' in out.stdout and 'epoch 2' in out.stdout
    a, _ = read_checkpoint(str(tmp_path / 'straight' / 'epoch_4.ckpt'))
    b, _ = read_checkpoint(str(tmp_path / 'resumed' / 'epoch_4.ckpt'))
    weights = [k for k in a if not k.startswith('optimizer.')]
    assert any('classifier' in k for k in weights)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in weights)
    assert worst <= 1e-6, worst
