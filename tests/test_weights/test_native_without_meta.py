"""An mmcls_ms checkpoint written without its meta record (``mindspore.save_checkpoint``
of an mmcls_ms model) loads as itself, and the converter says it needs no conversion."""
import mindspore as ms
import numpy as np
import pytest

from mmcls_ms.weights.converters import convert_checkpoint
from mmcls_ms.weights.pretrained import load_pretrained, prepare_checkpoint

# VGG-11 without BN and a GAP + linear head: no torch BN names, no classifier
PLAIN_GAP = dict(type='ImageClassifier',
                 backbone=dict(type='VGG', depth=11, num_classes=-1),
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='LinearClsHead', num_classes=10, in_channels=512))


def build(seed):
    from mmcls_ms.registry import MODELS
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(PLAIN_GAP)
    rng = np.random.default_rng(seed)
    for param in model.get_parameters():
        param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32)))
    return model


@pytest.fixture(scope='module')
def saved_without_meta(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'plain_gap.ckpt'
    model = build(seed=5)
    ms.save_checkpoint(model, str(path))  # MindSpore's own writer: no mmcls_ms meta
    return str(path), {n: p.asnumpy() for n, p in model.parameters_and_names()}


def test_loads_as_itself(saved_without_meta, tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    path, expected = saved_without_meta
    assert prepare_checkpoint(path) == path  # used as it is, not converted
    model = build(seed=6)
    report = load_pretrained(model, path, progress=False)
    assert report.ok, report.table()
    for name, param in model.parameters_and_names():
        np.testing.assert_array_equal(param.asnumpy(), expected[name], err_msg=name)


def test_converter_says_no_conversion_is_needed(saved_without_meta, tmp_path):
    path, _ = saved_without_meta
    with pytest.raises(ValueError, match='already an mmcls_ms checkpoint.*needs no conversion'):
        convert_checkpoint(path, str(tmp_path / 'out.ckpt'))
    assert not (tmp_path / 'out.ckpt').exists()
