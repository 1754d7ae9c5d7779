import os
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.datasets import CustomDataset, Digits, ImageNet, prepare_digits
from mmcls_ms.datasets.digits import digits_split, load_digit_arrays
from mmcls_ms.registry import DATASETS

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


def test_class_folders_sorted_labels(class_folder_root):
    ds = CustomDataset(data_root=class_folder_root, data_prefix='train', pipeline=PIPELINE)
    assert ds.classes == ('bird', 'cat', 'dog') and len(ds) == 23
    labels = ds.get_gt_labels()
    assert np.bincount(labels).tolist() == [7, 8, 8]
    info = ds.get_data_info(0)
    assert info['img_path'].endswith(osp.join('bird', '000.png')) and info['gt_label'] == 0
    out = ds[9]
    assert out['inputs'].shape == (3, 10, 12) and out['inputs'].dtype == np.uint8
    assert out['data_samples'].gt_label.tolist() == [1] and out['sample_idx'] == 9
    text = repr(ds)
    assert 'CustomDataset' in text and '23' in text and 'bird, cat, dog' in text


def test_built_from_config(class_folder_root):
    ds = DATASETS.build(dict(type='CustomDataset', data_root=class_folder_root,
                             data_prefix='train', pipeline=PIPELINE))
    assert len(ds) == 23


def test_annotation_file(tmp_path, write_folders):
    write_folders(str(tmp_path / 'imgs'), {'a': 2, 'b': 2})
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'list.txt').write_text('a/000.png 1\n\nb/001.png 0\na/001.png 2\n')
    ds = CustomDataset(data_root=str(tmp_path), data_prefix='imgs', ann_file='meta/list.txt',
                       pipeline=PIPELINE)
    assert len(ds) == 3 and ds.get_gt_labels().tolist() == [1, 0, 2]
    assert ds.classes is None
    assert ds[1]['data_samples'].gt_label.tolist() == [0]


def test_label_out_of_range_names_the_line(tmp_path, write_folders):
    write_folders(str(tmp_path), {'a': 2})
    ann = tmp_path / 'ann.txt'
    ann.write_text('a/000.png 0\na/001.png 5\n')
    with pytest.raises(ValueError, match=r'ann.txt:2: label 5 is out of range for 2 classes'):
        CustomDataset(data_root=str(tmp_path), ann_file='ann.txt', classes=['x', 'y'])


def test_malformed_annotation_lines(tmp_path):
    ann = tmp_path / 'ann.txt'
    ann.write_text('a/000.png 0\nonly_a_path\n')
    with pytest.raises(ValueError, match=r'ann.txt:2: expected'):
        CustomDataset(data_root=str(tmp_path), ann_file='ann.txt')
    ann.write_text('a/000.png zero\n')
    with pytest.raises(ValueError, match=r'ann.txt:1: the label .zero. is not an integer'):
        CustomDataset(data_root=str(tmp_path), ann_file='ann.txt')


def test_missing_ann_file_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        CustomDataset(data_root=str(tmp_path), ann_file='missing.txt')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match=r'empty.*no class sub-folders'):
        CustomDataset(data_root=str(tmp_path), data_prefix='empty')
    (tmp_path / 'empty' / 'cls').mkdir()
    with pytest.raises(ValueError, match=r'empty.*no images'):
        CustomDataset(data_root=str(tmp_path), data_prefix='empty')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        CustomDataset(data_root=str(tmp_path / 'nowhere'))


def test_extensions_filter(tmp_path, write_folders):
    write_folders(str(tmp_path), {'a': 2})
    (tmp_path / 'a' / 'notes.txt').write_text('not an image')
    ds = CustomDataset(data_root=str(tmp_path))
    assert len(ds) == 2
    assert len(CustomDataset(data_root=str(tmp_path), extensions=('.txt', ))) == 1


def test_imagenet_layout_and_classes(tmp_path, write_folders):
    root = str(tmp_path)
    write_folders(osp.join(root, 'train'), {'n01440764': 2, 'n01443537': 3})
    write_folders(osp.join(root, 'val'), {'n01440764': 1, 'n01443537': 1})
    os.makedirs(osp.join(root, 'meta'))
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.write('n01443537/000.png 1\nn01440764/000.png 0\n')
    train = ImageNet(data_root=root, split='train', pipeline=PIPELINE)
    assert len(train.classes) == 1000 and train.classes[:2] == ('tench', 'goldfish')
    assert train.get_gt_labels().tolist() == [0, 0, 1, 1, 1]
    val = ImageNet(data_root=root, split='val')
    assert val.ann_file.endswith(osp.join('meta', 'val.txt'))
    assert val.get_gt_labels().tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"unknown split 'valid'"):
        ImageNet(data_root=root, split='valid')


def test_digits_prepared_on_first_use(tmp_path):
    root = str(tmp_path / 'digits')
    train = Digits(data_root=root, split='train', pipeline=PIPELINE)
    val = Digits(data_root=root, split='val', pipeline=PIPELINE)
    assert len(train) == 1442 and len(val) == 355 and len(train) + len(val) == 1797
    assert train.classes == tuple('0123456789')
    # stratified: each class has about a fifth of its images in val
    _, labels = load_digit_arrays()
    per_class = np.bincount(labels)
    assert np.all(np.abs(np.bincount(val.get_gt_labels()) - per_class / 5) <= 1)
    out = train[0]
    assert out['inputs'].shape == (3, 32, 32)
    # the PNG holds the upsampled 8x8 digit: its 4x4 block means follow the original
    split = digits_split()
    images, _ = load_digit_arrays()
    first = images[split['train'][0]].astype(float)
    blocks = out['inputs'][0].reshape(8, 4, 8, 4).mean(axis=(1, 3))
    assert np.corrcoef(blocks.ravel(), first.ravel())[0, 1] > 0.9
    # preparing again is a no-op; an unknown split is a clear error
    assert prepare_digits(root) == root
    with pytest.raises(ValueError, match="unknown split 'test'"):
        Digits(data_root=root, split='test')
    with pytest.warns(UserWarning, match='32x32 digits, not 16x16'):
        Digits(data_root=root, split='val', size=16)


def test_digits_refuses_a_foreign_folder(tmp_path):
    root = tmp_path / 'digits'
    root.mkdir()
    (root / 'something.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not a complete digits dataset'):
        prepare_digits(str(root))


def test_unlabelled_test_split_gives_label_minus_one(tmp_path, write_folders):
    from mmcls_ms.datasets import build_dataloader
    write_folders(str(tmp_path / 'test'), {'': 3})
    ds = ImageNet(data_root=str(tmp_path), split='test', pipeline=PIPELINE)
    assert len(ds) == 3 and 'gt_label' not in ds[0]['data_samples']
    loader = build_dataloader(dict(batch_size=3, dataset=ds,
                                   sampler=dict(type='DefaultSampler', shuffle=False)))
    assert next(iter(loader))['gt_label'].tolist() == [-1, -1, -1]


def _prepare(root):
    from mmcls_ms.datasets import prepare_digits
    return prepare_digits(root, size=8)


def test_digits_concurrent_preparation_is_safe(tmp_path):
    import multiprocessing
    root = str(tmp_path / 'digits')
    with multiprocessing.get_context('fork').Pool(3) as pool:
        assert pool.map(_prepare, [root] * 3) == [root] * 3
    ds = Digits(data_root=root, split='train', size=8)
    assert len(ds) == 1442
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.digits-')]  # no leftovers
