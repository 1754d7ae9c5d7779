import logging
import multiprocessing
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.datasets import DefaultSampler, build_dataloader
from mmcls_ms.datasets.transforms import ImageReadError
from mmcls_ms.utils.logging import LOGGER_NAME

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


@pytest.fixture
def root_with_bad_images(tmp_path, write_folders):
    """12 readable images and 2 that cannot be decoded (samples 4 and 9)."""
    write_folders(str(tmp_path / 'train'), {'a': 6, 'b': 6})
    (tmp_path / 'train' / 'a' / '003b.png').write_bytes(b'not an image, named .png')
    (tmp_path / 'train' / 'b' / '002b.jpg').write_bytes(b'')
    return str(tmp_path)


def bad_indices(loader):
    return [i for i, info in enumerate(loader.dataset.data_list)
            if osp.basename(info['img_path']) in ('003b.png', '002b.jpg')]


class LogLines(logging.Handler):
    """The messages of the mmcls_ms logger while the test runs."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    handler = LogLines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_bad_image_in_a_later_batch_names_the_file(root_with_bad_images):
    # workers run ahead of the batch being handed over: the readable error
    # must come from the batch that failed, not the first one not delivered
    cfg = loader_cfg(root_with_bad_images, batch_size=2, num_workers=2,
                     sampler=dict(type='DefaultSampler', shuffle=False))
    loader = build_dataloader(cfg, seed=0, name='val_dataloader')
    with pytest.raises(ImageReadError) as err:
        collect(loader)
    message = str(err.value)
    assert '003b.png' in message and '--phase val' in message
    assert 'val_dataloader.skip_bad_images=True' in message


@pytest.mark.parametrize('workers, wtype', [(0, 'thread'), (2, 'thread'), (2, 'process')])
def test_training_skips_bad_images_and_keeps_batches_full(root_with_bad_images, log_lines,
                                                          workers, wtype):
    loader = build_dataloader(loader_cfg(root_with_bad_images, num_workers=workers,
                                         worker_type=wtype, skip_bad_images=True),
                              seed=0, name='train_dataloader')
    bad = bad_indices(loader)
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        batches = collect(loader)
        assert [len(b['sample_idx']) for b in batches] == [4, 4, 4, 2]
        seen = set(np.concatenate([b['sample_idx'] for b in batches]).tolist())
        assert not seen & set(bad) and seen == set(range(14)) - set(bad)
    assert sorted(loader.skipped) == bad
    skipped_lines = [m for m in log_lines if 'skipped an unreadable image' in m]
    assert len(skipped_lines) == 2  # once per file, not once per epoch
    assert any('003b.png' in m for m in skipped_lines)
    assert any('002b.jpg' in m and 'empty' in m for m in skipped_lines)
    counts = [m for m in log_lines if '2 unreadable image(s) skipped' in m]
    assert len(counts) == 2  # one count per epoch


def test_evaluation_leaves_bad_images_out(root_with_bad_images, log_lines):
    cfg = loader_cfg(root_with_bad_images, batch_size=1, num_workers=2, skip_bad_images=True,
                     sampler=dict(type='DefaultSampler', shuffle=False))
    loader = build_dataloader(cfg, seed=0, name='test_dataloader')
    bad = bad_indices(loader)
    order = np.concatenate([b['sample_idx'] for b in collect(loader)]).tolist()
    assert order == [i for i in range(14) if i not in bad]  # each readable sample once
    assert any(m.startswith('test_dataloader: 2 unreadable') for m in log_lines)


def test_skip_bad_images_must_be_a_bool(tiny_root):
    with pytest.raises(ValueError, match='train_dataloader.skip_bad_images'):
        build_dataloader(loader_cfg(tiny_root, skip_bad_images='yes'),
                         name='train_dataloader')


def test_num_workers_above_the_core_count_is_capped(tiny_root, log_lines):
    cores = multiprocessing.cpu_count()
    cfg = loader_cfg(tiny_root, batch_size=1, num_workers=cores + 3)
    loader = build_dataloader(cfg, seed=0, name='train_dataloader')
    assert loader.num_workers == cores
    assert log_lines == [f'train_dataloader.num_workers={cores + 3} is more than the {cores} '
                         f'CPU cores MindSpore allows; using {cores} workers.']
    assert len(collect(loader)) == 25  # MindSpore accepts the capped count
