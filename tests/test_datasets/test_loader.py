import numpy as np
import pytest

from mmcls_ms.datasets import DefaultSampler, build_dataloader
from mmcls_ms.datasets.transforms import ImageReadError

TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=8),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory, write_folders):
    root = tmp_path_factory.mktemp('tiny')
    write_folders(str(root / 'train'), {'a': 9, 'b': 8, 'c': 8}, size=(16, 12))
    return str(root)


def loader_cfg(root, **kwargs):
    cfg = dict(batch_size=4, num_workers=0,
               dataset=dict(type='CustomDataset', data_root=root, data_prefix='train',
                            pipeline=TRAIN_PIPELINE),
               sampler=dict(type='DefaultSampler', shuffle=True))
    cfg.update(kwargs)
    return cfg


def collect(loader):
    return [{k: v.copy() for k, v in b.items()} for b in loader]


def same_batches(a, b):
    keys = ('inputs', 'gt_label', 'sample_idx')
    return len(a) == len(b) and all(
        np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in keys)


def test_batches_have_the_contracted_types(tiny_root):
    loader = build_dataloader(loader_cfg(tiny_root, drop_last=True, persistent_workers=True,
                                         pin_memory=True), seed=0)
    assert len(loader) == 6 and loader.batch_size == 4 and len(loader.dataset) == 25
    batches = collect(loader)
    assert len(batches) == 6
    batch = batches[0]
    assert batch['inputs'].shape == (4, 3, 8, 8) and batch['inputs'].dtype == np.uint8
    assert batch['gt_label'].dtype == np.int32 and batch['sample_idx'].dtype == np.int64
    labels = loader.dataset.get_gt_labels()
    assert np.array_equal(labels[batch['sample_idx']], batch['gt_label'])
    no_drop = build_dataloader(loader_cfg(tiny_root), seed=0)
    assert len(no_drop) == 7 and len(collect(no_drop)[-1]['sample_idx']) == 1


def test_same_seed_same_batches_and_workers_do_not_matter(tiny_root):
    runs = {}
    for workers, wtype in [(0, 'thread'), (1, 'thread'), (2, 'thread'), (2, 'process')]:
        loader = build_dataloader(loader_cfg(tiny_root, num_workers=workers,
                                             worker_type=wtype), seed=3)
        loader.set_epoch(1)
        runs[(workers, wtype)] = collect(loader)
    reference = runs[(0, 'thread')]
    for key, batches in runs.items():
        assert same_batches(batches, reference), key
    other_seed = build_dataloader(loader_cfg(tiny_root), seed=4)
    other_seed.set_epoch(1)
    assert not same_batches(collect(other_seed), reference)


def test_epochs_reshuffle_and_reaugment(tiny_root):
    loader = build_dataloader(loader_cfg(tiny_root), seed=0)
    epoch0 = collect(loader)
    loader.set_epoch(1)
    epoch1 = collect(loader)
    order0 = np.concatenate([b['sample_idx'] for b in epoch0])
    order1 = np.concatenate([b['sample_idx'] for b in epoch1])
    assert sorted(order0) == sorted(order1) == list(range(25))
    assert not np.array_equal(order0, order1)
    loader.set_epoch(0)
    assert same_batches(collect(loader), epoch0)


def test_iter_from_resumes_with_the_same_order(tiny_root):
    loader = build_dataloader(loader_cfg(tiny_root, num_workers=2), seed=5)
    loader.set_epoch(2)
    full = collect(loader)
    assert same_batches(collect(loader.iter_from(3)), full[3:])
    assert collect(loader.iter_from(len(loader))) == []
    with pytest.raises(ValueError, match='start_batch'):
        loader.iter_from(len(loader) + 1)


def test_training_shards_pad_evaluation_shards_never_duplicate(tiny_root):
    world = 4
    train = [build_dataloader(loader_cfg(tiny_root), seed=1, rank=r, world_size=world)
             for r in range(world)]
    idx = [np.concatenate([b['sample_idx'] for b in collect(ld)]) for ld in train]
    assert {len(i) for i in idx} == {7}  # ceil(25 / 4), padded
    assert set(np.concatenate(idx)) == set(range(25))
    evaluation = [build_dataloader(loader_cfg(tiny_root, sampler=dict(type='DefaultSampler',
                                                                      shuffle=False)),
                                   seed=1, rank=r, world_size=world) for r in range(world)]
    idx = [np.concatenate([b['sample_idx'] for b in collect(ld)]) for ld in evaluation]
    assert idx[1].tolist() == [1, 5, 9, 13, 17, 21]
    assert sorted(np.concatenate(idx).tolist()) == list(range(25))  # each exactly once


def test_sampler_order_depends_only_on_seed_and_epoch():
    a = DefaultSampler(100, shuffle=True, seed=7)
    b = DefaultSampler(100, shuffle=True, seed=7)
    b.set_epoch(3)
    assert np.array_equal(a.indices(3), b.indices())
    assert not np.array_equal(a.indices(0), a.indices(1))
    assert DefaultSampler(5, shuffle=False).indices().tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match='rank'):
        DefaultSampler(5, rank=2, world_size=2)


def test_corrupt_image_error_names_the_file(tmp_path, write_folders):
    write_folders(str(tmp_path / 'train'), {'a': 3})
    bad = tmp_path / 'train' / 'a' / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    for workers, wtype in [(0, 'thread'), (2, 'thread'), (2, 'process')]:
        loader = build_dataloader(loader_cfg(str(tmp_path), num_workers=workers,
                                             worker_type=wtype), seed=0)
        with pytest.raises(ImageReadError, match='Cannot decode image file .*broken.png'):
            collect(loader)


def test_config_errors(tiny_root):
    with pytest.raises(KeyError, match='batch_size'):
        build_dataloader(dict(dataset=dict(type='CustomDataset', data_root=tiny_root)))
    with pytest.raises(KeyError, match='shuffel'):
        build_dataloader(loader_cfg(tiny_root, shuffel=True))
    with pytest.raises(ValueError, match='worker_type'):
        build_dataloader(loader_cfg(tiny_root, worker_type='fiber'))


def test_mixed_image_sizes_are_a_clear_error(tmp_path, write_folders):
    write_folders(str(tmp_path / 'train'), {'a': 2}, size=(8, 8))
    write_folders(str(tmp_path / 'train'), {'b': 2}, size=(9, 8))
    cfg = loader_cfg(str(tmp_path), sampler=dict(type='DefaultSampler', shuffle=False))
    cfg['dataset']['pipeline'] = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    with pytest.raises(ValueError, match='differ in shape'):
        collect(build_dataloader(cfg, seed=0))


def test_infinite_sampler_config_pads_like_training(tiny_root):
    loader = build_dataloader(loader_cfg(tiny_root, sampler=dict(type='InfiniteSampler')),
                              seed=0, rank=1, world_size=2)
    assert len(loader.sampler) == 13 and len(loader) == 4
