"""Small real training setups for the engine tests: a subset of the bundled
digits (real PNG files) and the quickstart VGG-11-BN config."""
import os
import os.path as osp

import pytest

from mmcls_ms.datasets import prepare_digits


def _write_subset(root, split, per_class, out_name, drop=0):
    lines = []
    for label in range(10):
        folder = osp.join(root, split, str(label))
        names = sorted(os.listdir(folder))[:per_class]
        lines += [f'{split}/{label}/{name} {label}' for name in names]
    lines = lines[:len(lines) - drop]
    with open(osp.join(root, out_name), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return len(lines)


@pytest.fixture(scope='session')
def tiny_digits(tmp_path_factory):
    """``(root, n_train, n_val)``: 80 train images and an odd 49 val images."""
    root = str(tmp_path_factory.mktemp('digits'))
    prepare_digits(root)
    n_train = _write_subset(root, 'train', 8, 'tiny_train.txt')
    n_val = _write_subset(root, 'val', 5, 'tiny_val.txt', drop=1)
    return root, n_train, n_val
