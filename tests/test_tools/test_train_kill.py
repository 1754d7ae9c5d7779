"""SIGKILL during training never leaves a truncated checkpoint, and --resume
continues from the last complete one."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

from mmcls_ms.datasets import prepare_digits
from mmcls_ms.weights.checkpoint import read_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIG = """
_base_ = ['{repo}/configs/vgg/vgg11bn-gap_1xb32_digits.py']
ds = dict(_delete_=True, type='CustomDataset', data_root='{root}', data_prefix='val',
          classes=[str(i) for i in range(10)])
train_dataloader = dict(batch_size=32, num_workers=0,
                        dataset=dict(ds, pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
train_cfg = dict(max_epochs=3)
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=3)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1, save_best=None))
randomness = dict(seed=1)
"""


def test_sigkill_mid_save_then_resume(tmp_path):
    root = str(tmp_path / 'digits')
    prepare_digits(root)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(repo=REPO, root=root))
    work = tmp_path / 'work'
    cmd = [sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(work)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # kill while the second checkpoint is being written (its temporary file exists)
    deadline, killed_mid_write = time.time() + 400, False
    while time.time() < deadline and proc.poll() is None:
        if glob.glob(str(work / '.epoch_2.ckpt.tmp-*')):
            proc.send_signal(signal.SIGKILL)
            killed_mid_write = True
            break
        time.sleep(0.002)
    if not killed_mid_write:  # the write was too quick to catch: kill right after it
        while time.time() < deadline and not osp.isfile(work / 'epoch_2.ckpt'):
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    # every file under a checkpoint name is complete and readable
    finals = sorted(glob.glob(str(work / '*.ckpt')))
    assert str(work / 'epoch_1.ckpt') in finals
    for path in finals:
        state, meta = read_checkpoint(path)
        assert meta['epoch'] == int(osp.basename(path)[6:-5])
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip() in finals

    out = subprocess.run(cmd + ['--resume'], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    resumed_from = out.stdout.split('Resumed from ')[1].split(':')[0]
    assert resumed_from in finals
    assert f'epoch {read_checkpoint(resumed_from)[1]["epoch"]}' in out.stdout
    _, meta = read_checkpoint(str(work / 'epoch_3.ckpt'))
    assert meta['epoch'] == 3
    # the resumed run rewrote epoch 2 and cleaned the killed writer's temporary file
    assert not glob.glob(str(work / '.*.tmp-*'))
