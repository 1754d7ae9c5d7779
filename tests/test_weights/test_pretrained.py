"""The conversion cache of mmcls_ms.weights.pretrained: keyed by content."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'test_apis'))
from pth_writer import write_pth  # noqa: E402

from mmcls_ms.weights.pretrained import (content_sha256, converted_path_of,  # noqa: E402
                                         load_pretrained)

TINY_BN = dict(type='ImageClassifier',
               backbone=dict(type='VGG', depth=11, num_classes=-1, norm_cfg=dict(type='BN')),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=10, in_channels=512))
MS_TO_TORCH_BN = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
                  'moving_variance': 'running_var'}


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'


@pytest.fixture(scope='module')
def tiny_model():
    from mmcls_ms.registry import MODELS
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    return MODELS.build(TINY_BN)


def write_mmpretrain_pth(path, model, seed):
    """An mmpretrain-layout .pth of random weights for ``model``; returns them
    in mmcls_ms names."""
    rng = np.random.default_rng(seed)
    ours, theirs = {}, {}
    for name, param in model.parameters_and_names():
        value = rng.standard_normal(param.shape).astype(np.float32)
        ours[name] = value
        prefix, leaf = name.rsplit('.', 1)
        theirs[f'{prefix}.{MS_TO_TORCH_BN.get(leaf, leaf)}'] = value
    write_pth(str(path), {'state_dict': theirs})
    return ours


def assert_loaded(model, expected):
    params = {n: p.asnumpy() for n, p in model.parameters_and_names()}
    for name in ('backbone.features.0.conv.weight', 'backbone.features.2.bn.gamma',
                 'head.fc.weight'):
        np.testing.assert_array_equal(params[name], expected[name], err_msg=name)


def test_same_name_size_and_mtime_load_as_themselves(tmp_path, cache_home, tiny_model):
    # what `cp -p`, rsync and tar produce: equal stem, size and mtime, different weights
    first, second = tmp_path / 'a' / 'finetuned.pth', tmp_path / 'b' / 'finetuned.pth'
    first.parent.mkdir()
    second.parent.mkdir()
    weights_a = write_mmpretrain_pth(first, tiny_model, seed=1)
    weights_b = write_mmpretrain_pth(second, tiny_model, seed=2)
    assert first.stat().st_size == second.stat().st_size
    stamp = 1_700_000_000_123_456_789
    os.utime(first, ns=(stamp, stamp))
    os.utime(second, ns=(stamp, stamp))

    load_pretrained(tiny_model, str(first), progress=False)
    assert_loaded(tiny_model, weights_a)
    load_pretrained(tiny_model, str(second), progress=False)
    assert_loaded(tiny_model, weights_b)
    assert converted_path_of(str(first)) != converted_path_of(str(second))


def test_rewritten_in_place_is_converted_again(tmp_path, cache_home, tiny_model):
    path = tmp_path / 'finetuned.pth'
    write_mmpretrain_pth(path, tiny_model, seed=3)
    stamp = path.stat().st_mtime_ns
    load_pretrained(tiny_model, str(path), progress=False)
    weights = write_mmpretrain_pth(path, tiny_model, seed=4)  # same size, same inode
    os.utime(path, ns=(stamp, stamp))
    load_pretrained(tiny_model, str(path), progress=False)
    assert_loaded(tiny_model, weights)


def test_hash_is_remembered_per_file_state(tmp_path, cache_home):
    path = tmp_path / 'w.bin'
    path.write_bytes(b'x' * 1000)
    digest = content_sha256(str(path))
    index = (cache_home / 'checkpoints' / 'converted' / 'sha256-index.json').read_text()
    assert digest in index and str(path.stat().st_ino) in index
    assert content_sha256(str(path)) == digest
