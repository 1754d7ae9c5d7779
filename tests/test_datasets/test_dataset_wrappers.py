"""Dataset wrappers: lengths and index maps, class frequencies after
balancing (against a numpy reference of mmengine's rule), folds disjoint and
covering, the refusals, and distinct augmentation for the copies of an image."""
import math

import numpy as np
import pytest

from mmcls_ms.datasets import (ClassBalancedDataset, ConcatDataset, CustomDataset,
                               KFoldDataset, RepeatDataset)
from mmcls_ms.registry import DATASETS

PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=8, crop_ratio_range=(0.2, 1.0)),
            dict(type='PackInputs')]


@pytest.fixture
def unbalanced(tmp_path, write_folders):
    """9 cats, 3 birds, 1 dog (13 images); labels sorted: bird 0, cat 1, dog 2."""
    write_folders(str(tmp_path / 'a'), {'cat': 9, 'bird': 3, 'dog': 1})
    return dict(type='CustomDataset', data_prefix=str(tmp_path / 'a'), pipeline=PIPELINE)


def test_repeat_dataset_index_map_and_fresh_augmentation(unbalanced):
    ds = DATASETS.build(dict(type='RepeatDataset', times=3, dataset=unbalanced))
    inner = ds.dataset
    assert len(ds) == 39
    assert ds.index_map.tolist() == list(range(13)) * 3
    assert ds.get_data_info(14)['img_path'] == inner.get_data_info(1)['img_path']
    assert ds.get_data_info(-1)['img_path'] == inner.get_data_info(12)['img_path']
    np.testing.assert_array_equal(ds.get_gt_labels(), np.tile(inner.get_gt_labels(), 3))
    assert ds.metainfo['classes'] == inner.metainfo['classes']
    first, copy = ds.prepare_data(1, seed=0, epoch=0), ds.prepare_data(14, seed=0, epoch=0)
    assert first['sample_idx'] == 1 and copy['sample_idx'] == 14
    # the same image, cropped differently: each copy has its own generator
    assert not np.array_equal(first['inputs'], copy['inputs'])
    # and still reproducible
    np.testing.assert_array_equal(ds.prepare_data(14, 0, 0)['inputs'], copy['inputs'])


def test_class_balanced_frequencies_match_reference(unbalanced):
    thr = 0.5
    ds = ClassBalancedDataset(unbalanced, oversample_thr=thr)
    labels = ds.dataset.get_gt_labels()
    # reference (mmengine): r(c) = max(1, sqrt(thr / f(c))), each image ceil(r) times
    freq = {c: np.mean(labels == c) for c in set(labels.tolist())}
    repeats = [math.ceil(max(1.0, math.sqrt(thr / freq[c]))) for c in labels]
    assert ds.index_map.tolist() == np.repeat(np.arange(13), repeats).tolist()
    counts = np.bincount(ds.get_gt_labels(), minlength=3)
    assert counts.tolist() == [3 * 2, 9 * 1, 1 * 3]  # bird r=1.47 -> 2, cat 1, dog r=2.55 -> 3
    assert len(ds) == sum(repeats)
    # the rare class's share went up
    assert counts[2] / len(ds) > freq[2]


def test_concat_dataset_lookup_and_metainfo(tmp_path, write_folders, unbalanced):
    write_folders(str(tmp_path / 'b'), {'cat': 2, 'bird': 2, 'dog': 2}, seed=1)
    second = dict(type='CustomDataset', data_prefix=str(tmp_path / 'b'), pipeline=PIPELINE)
    ds = ConcatDataset([unbalanced, second])
    assert len(ds) == 19 and ds.cumulative_sizes == [13, 19]
    assert ds.locate(12) == (0, 12) and ds.locate(13) == (1, 0) and ds.locate(-1) == (1, 5)
    assert ds.get_data_info(13)['img_path'] == ds.datasets[1].get_data_info(0)['img_path']
    assert ds.prepare_data(15)['sample_idx'] == 15
    assert len(ds.get_gt_labels()) == 19
    write_folders(str(tmp_path / 'c'), {'ant': 1, 'bee': 1}, seed=2)
    other = dict(type='CustomDataset', data_prefix=str(tmp_path / 'c'), pipeline=PIPELINE)
    with pytest.raises(ValueError, match="'classes' differs"):
        ConcatDataset([unbalanced, other])
    assert len(ConcatDataset([unbalanced, other], ignore_keys=['classes'])) == 15


@pytest.mark.parametrize('seed', [None, 5])
def test_kfold_folds_are_disjoint_and_cover(unbalanced, seed):
    inner = DATASETS.build(unbalanced)
    tests = []
    for fold in range(4):
        train = KFoldDataset(inner, fold=fold, num_splits=4, seed=seed)
        test = KFoldDataset(inner, fold=fold, num_splits=4, seed=seed, test_mode=True)
        assert set(train.index_map) | set(test.index_map) == set(range(13))
        assert not set(train.index_map) & set(test.index_map)
        assert len(test) == 13 * (fold + 1) // 4 - 13 * fold // 4
        tests.append(test.index_map.tolist())
    flat = sum(tests, [])
    assert sorted(flat) == list(range(13))  # the test parts partition the data
    if seed is None:
        assert tests[0] == [0, 1, 2]
        assert KFoldDataset(inner, fold=0, num_splits=4).index_map.tolist() == list(range(3, 13))
    else:
        assert flat != list(range(13))


@pytest.mark.parametrize('cfg,match', [
    (dict(type='RepeatDataset', times=0), r'RepeatDataset\.times=0 must be'),
    (dict(type='ClassBalancedDataset', oversample_thr=0.0), 'oversample_thr'),
    (dict(type='ClassBalancedDataset', oversample_thr=1.5), 'oversample_thr'),
    (dict(type='KFoldDataset', fold=5, num_splits=5), r'fold=5 must be an int in \[0, 5\)'),
    (dict(type='KFoldDataset', fold=-1), 'fold=-1 must be'),
    (dict(type='KFoldDataset', num_splits=1), 'num_splits'),
])
def test_bad_values_are_refused(unbalanced, cfg, match):
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(cfg, dataset=unbalanced))


def test_empty_wrapped_dataset_is_refused(tmp_path, write_folders):
    write_folders(str(tmp_path / 'e'), {'cat': 1})
    empty = CustomDataset(data_prefix=str(tmp_path / 'e'), indices=0)
    assert len(empty) == 0
    for build in (lambda: RepeatDataset(empty, times=2),
                  lambda: ClassBalancedDataset(empty, oversample_thr=0.5),
                  lambda: ConcatDataset([empty]), lambda: KFoldDataset(empty)):
        with pytest.raises(ValueError, match='wrapped dataset .* is empty'):
            build()
    with pytest.raises(ValueError, match='ConcatDataset.datasets=.. must list at least one'):
        ConcatDataset([])
