"""tools/dist_train.sh and tools/dist_test.sh with 2 real msrun workers on loopback."""
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from mmcls_ms.datasets import prepare_digits
from mmcls_ms.weights.checkpoint import read_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.skipif(not any(osp.isfile(osp.join(p, 'msrun'))
                                        for p in os.environ.get('PATH', '').split(':')),
                                reason='msrun (part of mindspore) is not on PATH')

CONFIG = """
_base_ = ['{repo}/configs/vgg/vgg11bn-gap_1xb32_digits.py']
# BN-free VGG-11 (or SyncBN): data parallelism must then equal one big batch exactly
model = dict(backbone=dict(norm_cfg={norm}))
ds = dict(_delete_=True, type='CustomDataset', data_root='{root}', data_prefix='',
          classes=[str(i) for i in range(10)])
train_dataloader = dict(batch_size={batch}, num_workers=0,
                        dataset=dict(ds, ann_file='sub_train.txt', pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = dict(batch_size=8, num_workers=0,
                      dataset=dict(ds, ann_file='sub_val.txt', pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs})
param_scheduler = dict(_delete_=True, type='ConstantLR', factor=1.0, by_epoch=True)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
randomness = dict(seed=7)
"""


@pytest.fixture(scope='module')
def digits_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('dist_digits'))
    prepare_digits(root)
    for split, per_class, drop, name in (('train', 8, 0, 'sub_train.txt'),
                                         ('val', 5, 1, 'sub_val.txt')):
        lines = []
        for label in range(10):
            names = sorted(os.listdir(osp.join(root, split, str(label))))[:per_class]
            lines += [f'{split}/{label}/{n} {label}' for n in names]
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(lines[:len(lines) - drop]) + '\n')
        if split == 'train':  # 32 images of all classes: two steps of 16
            with open(osp.join(root, 'two_steps.txt'), 'w') as f:
                f.write('\n'.join(line for i, line in enumerate(lines) if i % 5 < 2) + '\n')
    return root  # 80 train images, 49 (odd) val images


def write_config(path, root, batch, epochs=1, norm=None, train_ann='sub_train.txt',
                 conv_backend=None):
    config = CONFIG.format(repo=REPO, root=root, batch=batch, epochs=epochs, norm=norm)
    if conv_backend:
        config += f'env_cfg = dict(conv_backend={conv_backend!r})\n'
    with open(path, 'w') as f:
        f.write(config.replace("'sub_train.txt'", repr(train_ann)))
    return str(path)


def run(cmd, env=None, timeout=600):
    env = dict(os.environ, **(env or {}))
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_equal_one_process_with_twice_the_batch(digits_root, tmp_path):
    dist_cfg = write_config(tmp_path / 'dist.py', digits_root, batch=8)
    single_cfg = write_config(tmp_path / 'single.py', digits_root, batch=16)
    # the default port is taken: the launcher must pick another one, not hang
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(('127.0.0.1', 29500))
        busy.listen()
        env = {k: v for k, v in os.environ.items() if k != 'PORT'}
        out = subprocess.run(['bash', 'tools/dist_train.sh', dist_cfg, '2', '--work-dir',
                              str(tmp_path / 'dist')], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'Port 29500 is in use; using free port' in out.stdout
    assert 'rank 0 of 2' in out.stdout and 'Epoch(val) [1]' in out.stdout
    # rank 1 stays quiet: no log lines of its own on the console or in its log
    logs = [d for d in os.listdir(tmp_path / 'dist' / 'msrun_logs')]
    worker1 = open(tmp_path / 'dist' / 'msrun_logs' / logs[0] / 'worker_1.log').read()
    assert 'INFO' not in worker1.replace('[INFO]', '')

    assert_same_weights_as_one_process(single_cfg, tmp_path)


def assert_same_weights_as_one_process(single_cfg, tmp_path, tolerance=1e-5):
    """Train ``single_cfg`` in one process; its weights must equal the 2-rank run's."""
    single = run([sys.executable, 'tools/train.py', single_cfg, '--work-dir',
                  str(tmp_path / 'single')])
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]
    a, _ = read_checkpoint(str(tmp_path / 'dist' / 'epoch_1.ckpt'))
    b, _ = read_checkpoint(str(tmp_path / 'single' / 'epoch_1.ckpt'))
    weights = [k for k in a if not k.startswith('optimizer.')]
    assert weights and set(weights) <= set(b)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in weights)
    moved = max(float(np.abs(a[k]).max()) for k in weights)
    assert worst <= tolerance, worst
    assert moved > 0
    return a


@pytest.mark.slow  # about 80 s; the plain two-rank equality runs by default
def test_syncbn_two_ranks_equal_one_process_with_twice_the_batch(digits_root, tmp_path):
    """SyncBN normalises with the global batch: 2 ranks x 8 == 1 process x 16,
    weights and BN running statistics alike, while per-rank BN differs.

    Two steps: from scratch at lr 0.01 this BN net amplifies fp32 rounding
    (the fused BatchNorm2d kernel and SyncBN's composed ops differ by ~1e-7 per
    step, even in one process) past 1e-5 within five steps.  For the same reason
    it runs MindSpore's convolutions: the oneDNN kernels sum a weight gradient
    over 8 and over 16 images in different orders (~1e-7 relative), which these
    two steps amplify to ~1e-4; the BN-free test above covers the default kernels.
    """
    def two_rank_run(norm, name):
        cfg = write_config(tmp_path / f'{name}.py', digits_root, batch=8, norm=norm,
                           train_ann='two_steps.txt', conv_backend='mindspore')
        out = run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(tmp_path / name)],
                  env={'PORT': str(free_port())})
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return read_checkpoint(str(tmp_path / name / 'epoch_1.ckpt'))[0]

    sync_bn = "dict(type='SyncBN')"
    two_rank_run(sync_bn, 'dist')
    single_cfg = write_config(tmp_path / 'single.py', digits_root, batch=16, norm=sync_bn,
                              train_ann='two_steps.txt', conv_backend='mindspore')
    weights = assert_same_weights_as_one_process(single_cfg, tmp_path)
    assert any(k.endswith('moving_variance') for k in weights)

    per_rank = two_rank_run("dict(type='BN')", 'per_rank_bn')
    single, _ = read_checkpoint(str(tmp_path / 'single' / 'epoch_1.ckpt'))
    assert max(float(np.abs(per_rank[k] - single[k]).max()) for k in weights) > 1e-3


def test_dist_test_matches_test_py_on_odd_val_set(digits_root, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', digits_root, batch=16)
    train = run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    assert train.returncode == 0, train.stderr[-3000:]
    ckpt = str(tmp_path / 'w' / 'epoch_1.ckpt')
    single = run([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 't1'),
                  '--out', str(tmp_path / 'single.json')])
    assert single.returncode == 0, single.stderr[-3000:]
    dist = run(['bash', 'tools/dist_test.sh', cfg, ckpt, '2', '--work-dir',
                str(tmp_path / 't2'), '--out', str(tmp_path / 'dist.json')],
               env={'PORT': str(free_port())})
    assert dist.returncode == 0, dist.stdout[-3000:] + dist.stderr[-3000:]
    import json
    single_metrics = json.load(open(tmp_path / 'single.json'))
    dist_metrics = json.load(open(tmp_path / 'dist.json'))
    assert single_metrics == dist_metrics
    # 49 val images: top-1 is a multiple of 100/49
    assert round(single_metrics['accuracy/top1'] * 49 / 100, 6).is_integer()


def test_killed_worker_fails_the_job_quickly(digits_root, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', digits_root, batch=8, epochs=50)
    env = dict(os.environ, PORT=str(free_port()), MMCLS_MS_DIST_GRACE='5')
    proc = subprocess.Popen(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir',
                             str(tmp_path / 'w')], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    victim = None
    while time.time() < deadline and victim is None:
        time.sleep(1)
        if osp.isfile(tmp_path / 'w' / 'epoch_1.ckpt'):  # training is under way
            victim = _worker_pid(rank=1)
    assert victim is not None, 'rank 1 never started training'
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    out, err = proc.communicate(timeout=300)
    elapsed = time.time() - killed_at
    assert proc.returncode != 0
    assert elapsed < 120, elapsed
    # the rank that died is named, with how it died; the rank stopped because of it is not
    # reported as a failure of its own
    errors = [line for line in err.splitlines() if line.startswith('error:')]
    assert errors == ['error: rank 1 died first, killed by SIGKILL (signal 9)'], err
    assert 'its log:' in err and 'worker_1.log' in err
    assert 'stopped after it: rank 0' in err
    assert 'without an error message' not in err


def _worker_pid(rank):
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            env = open(f'/proc/{entry}/environ', 'rb').read().split(b'\0')
            cmd = open(f'/proc/{entry}/cmdline', 'rb').read()
        except OSError:
            continue
        if f'RANK_ID={rank}'.encode() in env and b'tools/train.py' in cmd:
            return int(entry)
    return None


def test_busy_port_chosen_by_user_is_a_clear_error(digits_root, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', digits_root, batch=8)
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(tmp_path / 'w')],
                  env={'PORT': str(port)}, timeout=60)
    assert out.returncode != 0
    assert f'port {port}' in out.stderr and 'PORT=' in out.stderr
