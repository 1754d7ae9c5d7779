"""RepeatAugSampler: mmpretrain 1.x's order for any world size (against a
plain-list reference of its algorithm), distinct augmentation for the copies,
and the shards of two real msrun ranks."""
import json
import math
import os
import os.path as osp
import shutil
import socket
import subprocess

import numpy as np
import pytest

from mmcls_ms.datasets import build_dataloader
from mmcls_ms.datasets.samplers import RepeatAugSampler
from mmcls_ms.registry import DATA_SAMPLERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def reference(order, num_repeats, rank, world_size):
    """mmpretrain's RepeatAugSampler.__iter__ on a given epoch order, with lists."""
    n = len(order)
    indices = [i for i in order for _ in range(num_repeats)]
    total = math.ceil(n * num_repeats / world_size) * world_size
    indices += indices[:total - len(indices)]
    return indices[rank:total:world_size][:math.ceil(n / world_size)]


@pytest.mark.parametrize('n', [10, 13])
@pytest.mark.parametrize('num_repeats', [1, 3])
@pytest.mark.parametrize('world_size', [1, 2, 3, 4])
@pytest.mark.parametrize('shuffle', [False, True])
def test_order_matches_reference(n, num_repeats, world_size, shuffle):
    order = (np.random.default_rng([7, 2]).permutation(n) if shuffle else np.arange(n)).tolist()
    for rank in range(world_size):
        sampler = DATA_SAMPLERS.build(dict(type='RepeatAugSampler', shuffle=shuffle,
                                           num_repeats=num_repeats, seed=7, rank=rank,
                                           world_size=world_size), default_args=dict(dataset=n))
        got = sampler.indices(2).tolist()
        assert got == reference(order, num_repeats, rank, world_size)
        assert len(sampler) == len(got) == math.ceil(n / world_size)


def test_copies_of_an_image_are_augmented_differently(tmp_path, write_folders):
    write_folders(str(tmp_path / 'a'), {'cat': 3, 'dog': 3}, size=(24, 20))
    loader = build_dataloader(dict(
        batch_size=3, num_workers=0,
        dataset=dict(type='CustomDataset', data_prefix=str(tmp_path / 'a'), pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=8, crop_ratio_range=(0.2, 1.0)),
            dict(type='PackInputs')]),
        sampler=dict(type='RepeatAugSampler', shuffle=False, num_repeats=3)), seed=0)
    batch = next(iter(loader))
    assert batch['sample_idx'].tolist() == [0, 0, 0]
    x = batch['inputs']
    assert not np.array_equal(x[0], x[1]) and not np.array_equal(x[1], x[2])
    again = next(iter(loader))['inputs']
    np.testing.assert_array_equal(again, x)  # reproducible


def test_bad_num_repeats_is_refused():
    with pytest.raises(ValueError, match='RepeatAugSampler num_repeats'):
        RepeatAugSampler(5, num_repeats=0)


WORKER = """
import json, sys
from mmcls_ms.datasets import build_dataloader
from mmcls_ms.engine.runner import dist
rank, world_size = dist.init_dist('msrun')
loader = build_dataloader(dict(
    batch_size=2, num_workers=0, drop_last=True,
    dataset=dict(type='CustomDataset', data_prefix=sys.argv[1],
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]),
    sampler=dict(type='RepeatAugSampler', shuffle=True, num_repeats=2)),
    seed=11, rank=rank, world_size=world_size)
loader.set_epoch(1)
idx = [int(i) for b in loader for i in b['sample_idx']]
with open(f'{sys.argv[2]}/rank{rank}.json', 'w') as f:
    json.dump(dict(rank=rank, world_size=world_size, idx=idx), f)
"""


@pytest.mark.slow  # two MindSpore processes start: ~45 s on 2 cores
@pytest.mark.skipif(shutil.which('msrun') is None, reason='msrun is not on PATH')
def test_shards_under_msrun(tmp_path, write_folders):
    write_folders(str(tmp_path / 'a'), {'cat': 5, 'dog': 4}, size=(8, 8))  # 9 images
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = subprocess.run(
        ['msrun', '--worker_num', '2', '--local_worker_num', '2', '--master_port', str(port),
         '--log_dir', str(tmp_path / 'logs'), '--join', 'True', str(script),
         str(tmp_path / 'a'), str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=REPO))
    logs = ''.join(open(tmp_path / 'logs' / f).read() for f in os.listdir(tmp_path / 'logs'))
    assert out.returncode == 0, logs[-3000:]
    shards = [json.load(open(tmp_path / f'rank{r}.json')) for r in (0, 1)]
    assert [s['world_size'] for s in shards] == [2, 2]
    order = np.random.default_rng([11, 1]).permutation(9).tolist()
    for s in shards:  # 5 per rank, 4 in whole batches of 2
        assert s['idx'] == reference(order, 2, s['rank'], 2)[:4]
    # with 2 repeats on 2 ranks, the two copies of an image go to different ranks
    assert shards[0]['idx'] == shards[1]['idx']
