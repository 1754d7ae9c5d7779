"""Numerical parity with MindCV 0.3.0 after conversion.

A MindCV model with random weights (BN statistics calibrated on data) saves its
own .ckpt, with optimizer moments as MindCV's training checkpoints have them.
That file is converted, loaded into the mmcls_ms model built from
configs/_base_/models plus the converted meta's ``model_overrides``, and the
logits must match MindCV's (loaded from the same file) in eval mode:
max |diff| <= 1e-4 * max(1, max |logit|), fp32, CPU.

MindCV's side loads the file as ``create_model(checkpoint_path=...)`` does
(``load_param_into_net``), but parses it with mmcls_ms's record-by-record
reader: MindSpore 2.10's ``load_checkpoint`` refuses a .ckpt larger than the
*free* memory (page cache excluded), which after a few GB of file reads is
less than a VGG checkpoint (docs/faq.md).

Run in a Python with the parity extras (pip install .[parity] mindcv==0.3.0):
    python -m pytest -m parity \
    tests/test_weights/test_parity_mindcv.py
"""
import os

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

mindcv = pytest.importorskip('mindcv')

from mmcls_ms.weights.checkpoint import load_checkpoint, read_checkpoint  # noqa: E402
from mmcls_ms.weights.converters import convert_checkpoint  # noqa: E402

pytestmark = pytest.mark.parity

MEASURED = {}


@pytest.fixture(scope='module', autouse=True)
def _print_measured():
    yield
    if MEASURED:
        print('\nmax |logit diff| vs MindCV (bound 1e-4 * max(1, max |logit|)):')
        for key, (diff, scale) in sorted(MEASURED.items()):
            print(f'  {key:<45} {diff:.3e}   (max |logit| {scale:.3g})')


class _CalibrationBN(nn.BatchNorm2d):
    """BatchNorm2d whose moving statistics become the last batch's (momentum 0)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.9, **kwargs):
        super().__init__(num_features, eps=eps, momentum=0.0, **kwargs)


def save_mindcv_checkpoint(net, path):
    """Weights plus optimizer state, the way MindCV's training saves them (moments
    of VGG's two 100M-parameter classifier layers left out to spare memory)."""
    opt = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    items = [{'name': p.name, 'data': p} for p in net.get_parameters()]
    items += [{'name': n, 'data': p} for n, p in opt.parameters_and_names()
              if (n.startswith('moments.') and p.size < 10_000_000)
              or n in ('global_step', 'learning_rate', 'momentum')]
    ms.save_checkpoint(items, path)


def randomize_dense_biases(net, rng):
    for p in net.get_parameters():
        if p.name.endswith('bias') and not p.asnumpy().any():
            p.set_data(ms.Tensor(rng.normal(0, 0.05, p.shape).astype(np.float32)))


def load_mindcv_model(name, ckpt):
    """``mindcv.create_model(name, checkpoint_path=ckpt)`` with the file read by
    mmcls_ms's reader instead of ``mindspore.load_checkpoint``; every network
    parameter must come from the file."""
    net = mindcv.create_model(name)
    state, _ = read_checkpoint(ckpt)
    params = {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in state.items()}
    not_loaded, _ = ms.load_param_into_net(net, params)
    assert not not_loaded, f'MindCV parameters missing in {ckpt}: {not_loaded[:5]}'
    return net


def mindcv_reference(name, ckpt, x):
    ref = load_mindcv_model(name, ckpt)
    ref.set_train(False)
    return ref(ms.Tensor(x)).asnumpy()


def convert_and_compare(tmp_path, helpers, name, ckpt, x, ref, label):
    report = convert_checkpoint(ckpt, str(tmp_path / f'{name}_mmcls.ckpt'))
    assert (report.src_format, report.model) == ('mindcv', name)
    # Optimizer state is dropped, never converted.
    assert report.dropped and all(k.startswith('moments.') or k in (
        'global_step', 'learning_rate', 'momentum') for k in report.dropped)
    overrides = report.meta.get('model_overrides', {})
    backbone = dict(overrides.get('backbone', {}))
    if name == 'inception_v3':
        backbone['aux_logits'] = True
    model = helpers.build_model(name, backbone=backbone)
    load = load_checkpoint(model, report.dst_path, strict=True)
    assert load.ok
    ours = helpers.forward(model, x)
    diff = helpers.assert_logits_close(ours, ref)
    MEASURED[label] = (diff, float(np.abs(ref).max()))
    return report, model


def test_inception_v3(tmp_path, helpers, monkeypatch):
    rng = np.random.default_rng(0)
    with monkeypatch.context() as patch:
        patch.setattr(nn, 'BatchNorm2d', _CalibrationBN)
        net = mindcv.create_model('inception_v3')
    randomize_dense_biases(net, rng)
    calib = rng.uniform(0, 1, (4, 3, 299, 299)).astype(np.float32)
    net.set_train(True)
    net(ms.Tensor(calib))
    net.set_train(False)
    ckpt = str(tmp_path / 'inception_v3-38f67890.ckpt')
    save_mindcv_checkpoint(net, ckpt)
    variances = [p.asnumpy() for p in net.get_parameters() if 'moving_variance' in p.name]
    assert not np.allclose(variances[0], 1.0), 'calibration did not change the BN statistics'

    x = rng.uniform(0, 1, (2, 3, 299, 299)).astype(np.float32)
    ref = mindcv_reference('inception_v3', ckpt, x)
    report, model = convert_and_compare(tmp_path, helpers, 'inception_v3', ckpt, x, ref,
                                        'inception_v3')
    assert report.meta['model_overrides'] == {'backbone': {'pool_count_include_pad': False}}

    # The override matters: with torchvision/mmpretrain pooling the logits drift.
    plain = helpers.build_model('inception_v3', backbone=dict(aux_logits=True))
    load_checkpoint(plain, report.dst_path, strict=True, logger=False)
    drift = float(np.abs(helpers.forward(plain, x) - ref).max())
    MEASURED['inception_v3 without the override (expected > bound)'] = (
        drift, float(np.abs(ref).max()))
    assert drift > 1e-4 * max(1.0, float(np.abs(ref).max()))


@pytest.mark.parametrize('name', [
    pytest.param('vgg11', marks=pytest.mark.slow), pytest.param('vgg13', marks=pytest.mark.slow),
    'vgg16', pytest.param('vgg19', marks=pytest.mark.slow)])
def test_vgg(tmp_path, helpers, name):
    rng = np.random.default_rng(1)
    net = mindcv.create_model(name)
    randomize_dense_biases(net, rng)
    ckpt = str(tmp_path / f'{name}.ckpt')
    save_mindcv_checkpoint(net, ckpt)
    del net
    x = rng.uniform(0, 1, (1, 3, 224, 224)).astype(np.float32)
    ref = mindcv_reference(name, ckpt, x)
    report, _ = convert_and_compare(tmp_path, helpers, name, ckpt, x, ref, name)
    assert len(report.zero_filled) == {'vgg11': 8, 'vgg13': 10, 'vgg16': 13, 'vgg19': 16}[name]


def test_mindcv_side_reads_checkpoints_larger_than_free_memory(tmp_path, monkeypatch):
    """Free memory below the file size (os.sysconf's SC_AVPHYS_PAGES, what
    MindSpore reads): MindCV's own loading is refused, the parity tests' is not."""
    net = mindcv.create_model('mobilenet_v2_035_96')
    ckpt = str(tmp_path / 'small.ckpt')
    save_mindcv_checkpoint(net, ckpt)
    expected = {p.name: p.asnumpy() for p in net.get_parameters()}
    sysconf = os.sysconf
    monkeypatch.setattr(os, 'sysconf',
                        lambda name: 1 if name == 'SC_AVPHYS_PAGES' else sysconf(name))
    with pytest.raises(ValueError, match='exceeds current available memory'):
        mindcv.create_model('mobilenet_v2_035_96', checkpoint_path=ckpt)
    loaded = load_mindcv_model('mobilenet_v2_035_96', ckpt)
    for p in loaded.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), expected[p.name], err_msg=p.name)
