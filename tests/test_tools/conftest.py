"""A quickstart model to test the tools with: random weights (which weights
does not matter to them) and configs testing it on 12 real val digits."""
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from mmcls_ms.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')
N_IMAGES = 12


@pytest.fixture(scope='session')
def quickstart_12(tmp_path_factory):
    """``(tmp, write_config, checkpoint)``: a random-weight checkpoint of the
    quickstart model and ``write_config(name, pipeline=None, **options)``,
    which writes a config testing it on 12 val digits (two of each of the
    classes 0-5, in batches of 5) and returns its path."""
    from mmcls_ms.apis import get_model
    from mmcls_ms.datasets import prepare_digits
    from mmcls_ms.weights.checkpoint import save_checkpoint
    tmp = tmp_path_factory.mktemp('quickstart_12')
    root = str(tmp / 'digits')
    prepare_digits(root)
    lines = [f'val/{k}/{sorted(os.listdir(osp.join(root, "val", str(k))))[i]} {k}'
             for k in range(6) for i in range(2)]
    with open(osp.join(root, 'val12.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    base = load_config(QUICKSTART)
    checkpoint = save_checkpoint(get_model(base), str(tmp / 'random.ckpt'))

    def write_config(name, pipeline=None, **extra):
        cfg = load_config(QUICKSTART, {
            'test_dataloader.batch_size': 5,  # a short last batch, padded
            'test_dataloader.num_workers': 0,
            'test_dataloader.dataset': dict(
                _delete_=True, type='CustomDataset', data_root=root, ann_file='val12.txt',
                data_prefix='', classes=[str(i) for i in range(10)],
                pipeline=pipeline or base.test_pipeline),
            **extra})
        path = str(tmp / f'{name}.py')
        cfg.dump(path)
        return path
    return tmp, write_config, checkpoint


def start_xvfb():
    """``(process, display)`` of a fresh Xvfb server, or None where Xvfb is absent."""
    if shutil.which('Xvfb') is None:
        return None
    for number in range(99, 140):
        if osp.exists(f'/tmp/.X11-unix/X{number}') or osp.exists(f'/tmp/.X{number}-lock'):
            continue
        proc = subprocess.Popen(['Xvfb', f':{number}', '-screen', '0', '640x480x24',
                                 '-nolisten', 'tcp'], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(50):
            if osp.exists(f'/tmp/.X11-unix/X{number}'):
                return proc, f':{number}'
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.kill()
        proc.wait()
    return None


@pytest.fixture(scope='session')
def tested_12(quickstart_12):
    """One run of tools/test.py on :func:`quickstart_12` with ``--show-dir``
    and ``--out shown.pkl`` (and, where Xvfb is installed, ``--show
    --wait-time 0.01`` on its display), shared by the tests of these flags and
    of the analysis tools.  Its fields: ``process``, ``config``,
    ``checkpoint``, ``show_dir``, ``out`` (the pickle), ``results`` (its rows)
    and ``showed`` (whether --show ran)."""
    tmp, write_config, checkpoint = quickstart_12
    show_dir, out = tmp / 'show_dir', tmp / 'shown.pkl'
    args = [write_config('shown'), checkpoint, '--work-dir', str(tmp / 'shown'),
            '--show-dir', str(show_dir), '--out', str(out)]
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    xvfb = start_xvfb()
    try:
        if xvfb is not None:
            args += ['--show', '--wait-time', '0.01']
            env.update(DISPLAY=xvfb[1], QT_QPA_PLATFORM='xcb')
        proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), *args],
                              cwd=str(tmp), capture_output=True, text=True, timeout=300,
                              env=dict(env, PYTHONPATH=REPO))
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait(timeout=10)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    with open(out, 'rb') as f:
        results = pickle.load(f)
    return SimpleNamespace(process=proc, config=args[0], checkpoint=checkpoint,
                           show_dir=show_dir, out=str(out), results=results,
                           showed=xvfb is not None)
