"""The runner checks every label of a dataloader against the model's class
count when it builds the dataloader: a label the head has no output for would
otherwise train against an all-zero target without a word."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmcls_ms.engine import Runner
from engine_fixtures import tiny_cfg


def write_ann(root, name, lines):
    with open(osp.join(root, name), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return name


def test_out_of_range_label_in_an_annotation_file_names_the_line(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    # no `classes`: the dataset cannot know the class count, the model does
    ann = write_ann(root, 'labels_12.txt', ['train/0/0000.png 0', 'train/1/0000.png 1',
                                            'train/2/0000.png 12', 'train/3/0000.png 3'])
    dataset = {'_delete_': True, 'type': 'CustomDataset', 'data_root': root,
               'ann_file': ann, 'pipeline': []}
    cfg = tiny_cfg(root, tmp_path / 'w', **{'train_dataloader.dataset': dataset,
                                            'val_dataloader.dataset': dataset})
    runner = Runner.from_cfg(cfg)
    for split in ('train', 'val'):
        with pytest.raises(ValueError) as err:
            getattr(runner, f'{split}_dataloader')
        assert str(err.value) == (
            f'{osp.join(root, ann)}:3: label 12 is out of range for 10 classes (0..9, from '
            'model.head.num_classes). Fix the labels, or set model.head.num_classes to at '
            'least 13.')
    # labels within the head's range pass, with or without `classes`
    ann_ok = write_ann(root, 'labels_ok.txt', ['train/0/0000.png 0', 'train/9/0000.png 9'])
    cfg = tiny_cfg(root, tmp_path / 'w2', **{'train_dataloader.dataset': dict(
        dataset, ann_file=ann_ok)})
    assert len(Runner.from_cfg(cfg).train_dataloader.dataset) == 2


def test_extra_class_folder_names_its_file(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    folders = tmp_path / 'folders'
    for name in range(11):  # 11 class folders, 10 outputs; sorted as text, '9' is label 10
        os.makedirs(folders / str(name))
        cv2.imwrite(str(folders / str(name) / '000.png'), np.zeros((8, 8, 3), np.uint8))
    cfg = tiny_cfg(root, tmp_path / 'w', **{'test_dataloader.dataset': dict(
        _delete_=True, type='CustomDataset', data_root=str(folders), pipeline=[])})
    with pytest.raises(ValueError, match=r'folders/9/000.png: label 10 is out of range for 10 '
                                         r'classes .*model.head.num_classes to at least 11'):
        Runner.from_cfg(cfg).test_dataloader
