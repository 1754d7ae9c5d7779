"""Two nodes on one machine: two launches of tools/dist_train.sh / dist_test.sh with
NNODES=2, NODE_RANK=0 and 1, MASTER_ADDR=127.0.0.1, one worker each, typed as on two
machines."""
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np
import pytest

from mmcls_ms.weights.checkpoint import read_checkpoint
from test_dist import REPO, digits_root, free_port, run, write_config  # noqa: F401

pytestmark = pytest.mark.skipif(not any(osp.isfile(osp.join(p, 'msrun'))
                                        for p in os.environ.get('PATH', '').split(':')),
                                reason='msrun (part of mindspore) is not on PATH')


def start_node(node_rank, port, args, script='dist_train.sh', **env):
    env = dict(os.environ, NNODES='2', NODE_RANK=str(node_rank), MASTER_ADDR='127.0.0.1',
               PORT=str(port), **env)
    return subprocess.Popen(['bash', f'tools/{script}'] + args, cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def two_nodes(args, first=1, delay=0.0, script='dist_train.sh', timeout=900):
    """Start node ``first``, then the other ``delay`` s later; both outputs, by node."""
    port = free_port()
    procs = {first: start_node(first, port, args, script)}
    time.sleep(delay)
    procs[1 - first] = start_node(1 - first, port, args, script)
    outs = {}
    for node, proc in procs.items():
        out, err = proc.communicate(timeout=timeout)
        outs[node] = (proc.returncode, out, err)
    for node, (code, out, err) in outs.items():
        assert code == 0, f'node {node}: {out[-3000:]}{err[-3000:]}'
    return outs


def single_process_weights(cfg, work):
    out = run([sys.executable, 'tools/train.py', cfg, '--work-dir', work])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return read_checkpoint(osp.join(work, 'epoch_1.ckpt'))[0]


def assert_same_weights(a, b, tolerance=1e-5):
    weights = [k for k in a if not k.startswith('optimizer.')]
    assert weights and set(weights) <= set(b)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in weights)
    assert worst <= tolerance, worst
    assert max(float(np.abs(a[k]).max()) for k in weights) > 0


def test_two_nodes_train_like_one_process(digits_root, tmp_path):
    """BN-free VGG, node 1 started before node 0: both exit 0, each node logs to its
    own folder, and the weights are one process's with the global batch."""
    cfg = write_config(tmp_path / 'nodes.py', digits_root, batch=8, train_ann='two_steps.txt')
    work = str(tmp_path / 'nodes')
    outs = two_nodes([cfg, '1', '--work-dir', work], first=1)
    assert 'rank 0 of 2' in outs[0][1] and 'Epoch(val) [1]' in outs[0][1]
    folders = sorted(os.listdir(osp.join(work, 'msrun_logs')))
    assert len(folders) == 2 and folders[0].endswith('_node0') and folders[1].endswith('_node1')
    assert sorted(os.listdir(osp.join(work, 'msrun_logs', folders[1]))) == [
        'msrun.log', 'worker_1.log']  # node 1 runs no scheduler of its own
    single = write_config(tmp_path / 'single.py', digits_root, batch=16,
                          train_ann='two_steps.txt')
    assert_same_weights(read_checkpoint(osp.join(work, 'epoch_1.ckpt'))[0],
                        single_process_weights(single, str(tmp_path / 'single')))


@pytest.mark.slow
def test_two_nodes_syncbn_second_node_20s_late(digits_root, tmp_path):
    """SyncBN VGG, node 1 started 20 s after node 0.  With MindSpore's convolutions,
    as in test_dist.py's SyncBN test (which says why): the oneDNN kernels sum a
    weight gradient over 8 and over 16 images in different orders, which this BN
    net amplifies to ~1e-4 in two steps."""
    sync_bn = "dict(type='SyncBN')"
    cfg = write_config(tmp_path / 'nodes.py', digits_root, batch=8, norm=sync_bn,
                       train_ann='two_steps.txt', conv_backend='mindspore')
    work = str(tmp_path / 'nodes')
    two_nodes([cfg, '1', '--work-dir', work], first=0, delay=20)
    single = write_config(tmp_path / 'single.py', digits_root, batch=16, norm=sync_bn,
                          train_ann='two_steps.txt', conv_backend='mindspore')
    dist = read_checkpoint(osp.join(work, 'epoch_1.ckpt'))[0]
    assert any(k.endswith('moving_variance') for k in dist)
    assert_same_weights(dist, single_process_weights(single, str(tmp_path / 'single')))


@pytest.mark.slow
def test_two_node_dist_test_matches_test_py(digits_root, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py', digits_root, batch=16, train_ann='two_steps.txt')
    single_process_weights(cfg, str(tmp_path / 'w'))
    ckpt = str(tmp_path / 'w' / 'epoch_1.ckpt')
    single = run([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 't1'),
                  '--out', str(tmp_path / 'single.json')])
    assert single.returncode == 0, single.stderr[-3000:]
    two_nodes([cfg, ckpt, '1', '--work-dir', str(tmp_path / 't2'), '--out',
               str(tmp_path / 'dist.json')], script='dist_test.sh')
    assert json.load(open(tmp_path / 'single.json')) == json.load(open(tmp_path / 'dist.json'))


@pytest.mark.slow
@pytest.mark.parametrize('present', [0, 1])
def test_a_node_that_never_comes_ends_the_other(digits_root, tmp_path, present):
    cfg = write_config(tmp_path / 'cfg.py', digits_root, batch=8, train_ann='two_steps.txt')
    started = time.time()
    proc = start_node(present, free_port(), [cfg, '1', '--work-dir', str(tmp_path / 'w')],
                      MMCLS_MS_DIST_JOIN_TIMEOUT='15', MMCLS_MS_DIST_GRACE='5')
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert time.time() - started < 150
    missing = ('node 1 did not join the scheduler' if present == 0 else
               'node 0 (the scheduler at 127.0.0.1:')
    assert 'the 2-node job did not form within 15 s' in err and missing in err, err[-3000:]
