"""Numerical parity with torchvision (and mmpretrain-layout files) after conversion.

torchvision model with random weights and calibrated BN statistics -> .pth ->
tools/model_converters -> mmcls_ms model from configs/_base_/models -> same logits
on the same inputs in eval mode: max |diff| <= 1e-4 * max(1, max |logit|), fp32, CPU.

Run in a Python with the parity extras (pip install .[parity]):
    python -m pytest -m "parity" \
    tests/test_weights/test_parity_torchvision.py   (add `or slow` for all variants)
"""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')
torchvision = pytest.importorskip('torchvision')

from mmcls_ms.weights.checkpoint import load_checkpoint  # noqa: E402
from mmcls_ms.weights.converters import convert_checkpoint  # noqa: E402

pytestmark = pytest.mark.parity

# torchvision -> mmpretrain VGG feature indices, from mmpretrain's
# tools/model_converters/vgg_to_mmpretrain.py tables (see test_converters.py).
TV_CONV_NO_BN = {
    11: [0, 3, 6, 8, 11, 13, 16, 18],
    13: [0, 2, 5, 7, 10, 12, 15, 17, 20, 22],
    16: [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    19: [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]}
TV_CONV_BN = {
    11: [0, 4, 8, 11, 15, 18, 22, 25],
    13: [0, 3, 7, 10, 14, 17, 21, 24, 28, 31],
    16: [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40],
    19: [0, 3, 7, 10, 14, 17, 20, 23, 27, 30, 33, 36, 40, 43, 46, 49]}
MM_CONV = {
    11: [0, 2, 4, 5, 7, 8, 10, 11],
    13: [0, 1, 3, 4, 6, 7, 9, 10, 12, 13],
    16: [0, 1, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16],
    19: [0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]}

# Every max |diff| measured here, printed at the end (`-s`) for the closing note.
MEASURED = {}


@pytest.fixture(scope='module', autouse=True)
def _print_measured():
    yield
    if MEASURED:
        print('\nmax |logit diff| (bound 1e-4 * max(1, max |logit|)):')
        for key, (diff, scale) in sorted(MEASURED.items()):
            print(f'  {key:<40} {diff:.3e}   (max |logit| {scale:.3g})')


def calibrate_bn(model, inputs, passes=3):
    """Make BN running statistics those of real activations (cumulative average
    over a few train-mode passes), so the random network is well conditioned."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(passes):
            model(inputs[i % len(inputs)])
    model.eval()


def randomize_biases(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias') and p.abs().sum() == 0:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)


def to_mmpretrain_layout(state, name):
    """A torchvision state dict renamed the way mmpretrain's own files are."""
    if name == 'inception_v3':
        return {'backbone.' + k: v for k, v in state.items()}
    depth, bn = int(name[3:5]), name.endswith('_bn')
    out = {}
    tv_idx = (TV_CONV_BN if bn else TV_CONV_NO_BN)[depth]
    for tv, mm in zip(tv_idx, MM_CONV[depth]):
        for p in ('weight', 'bias'):
            out[f'backbone.features.{mm}.conv.{p}'] = state[f'features.{tv}.{p}']
        if bn:
            for p in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'):
                out[f'backbone.features.{mm}.bn.{p}'] = state[f'features.{tv + 1}.{p}']
    for k, v in state.items():
        if k.startswith('classifier.'):
            out['backbone.' + k] = v
    assert len([k for k in out if 'num_batches' not in k]) == \
        len([k for k in state if 'num_batches' not in k])
    return out


def run_parity(tmp_path, helpers, name, layout, batch, size):
    gen = torch.Generator().manual_seed(0)
    if name == 'inception_v3':
        net = torchvision.models.inception_v3(weights=None, aux_logits=True,
                                              init_weights=True, transform_input=False)
    else:
        net = getattr(torchvision.models, name)(weights=None)
    randomize_biases(net, gen)
    calib = [torch.rand(4 if name == 'inception_v3' else 2, 3, size, size, generator=gen)
             for _ in range(3)]
    calibrate_bn(net, calib)
    net.eval()
    x = torch.rand(batch, 3, size, size, generator=gen)
    with torch.no_grad():
        ref = net(x).numpy()

    state = net.state_dict()
    src = tmp_path / f'{name}_{layout}.pth'
    if layout == 'mmpretrain':
        torch.save({'state_dict': to_mmpretrain_layout(state, name),
                    'meta': {'dataset_meta': {'classes': [f'c{i}' for i in range(1000)]}}},
                   src)
    else:
        torch.save(state, src)
    del net, state

    report = convert_checkpoint(str(src), str(tmp_path / f'{name}.ckpt'))
    assert (report.src_format, report.model) == (layout, name)
    assert not report.missing
    assert all(k.endswith('num_batches_tracked') for k in report.dropped)
    if layout == 'mmpretrain':
        assert len(report.meta['dataset_meta']['classes']) == 1000

    backbone = dict(aux_logits=True) if name == 'inception_v3' else None
    model = helpers.build_model(name, backbone=backbone)
    load = load_checkpoint(model, report.dst_path, strict=True)
    assert load.ok
    if name == 'inception_v3':
        assert sum(k.startswith('backbone.AuxLogits.') for k in load.loaded_keys) == 12
    ours = helpers.forward(model, x.numpy())
    diff = helpers.assert_logits_close(ours, ref)
    MEASURED[f'{name} ({layout})'] = (diff, float(np.abs(ref).max()))
    return model, x


def test_inception_v3_torchvision(tmp_path, helpers):
    model, x = run_parity(tmp_path, helpers, 'inception_v3', 'torchvision', batch=2, size=299)
    # The aux head loaded: compare it in train mode too (batch statistics, no dropout on
    # the aux path), against the same torchvision weights.
    ref_net = torchvision.models.inception_v3(weights=None, aux_logits=True,
                                              init_weights=False, transform_input=False)
    state = torch.load(tmp_path / 'inception_v3_torchvision.pth', weights_only=True)
    ref_net.load_state_dict(state)
    ref_net.train()
    with torch.no_grad():
        ref_aux = ref_net(x).aux_logits.numpy()
    import mindspore as ms
    model.set_train(True)
    outs = model.backbone(ms.Tensor(x.numpy()))
    model.set_train(False)
    aux = outs[0].asnumpy()
    diff = helpers.assert_logits_close(aux, ref_aux)
    MEASURED['inception_v3 aux, train mode (torchvision)'] = (diff, float(np.abs(ref_aux).max()))


def test_inception_v3_mmpretrain(tmp_path, helpers):
    run_parity(tmp_path, helpers, 'inception_v3', 'mmpretrain', batch=2, size=299)


VGG_DEFAULT = {('vgg11', 'torchvision'), ('vgg16_bn', 'torchvision'),
               ('vgg13_bn', 'mmpretrain')}
VGG_CASES = [pytest.param(f'vgg{d}{bn}', layout,
                          marks=() if (f'vgg{d}{bn}', layout) in VGG_DEFAULT
                          else pytest.mark.slow)
             for layout in ('torchvision', 'mmpretrain')
             for d in (11, 13, 16, 19) for bn in ('', '_bn')]


@pytest.mark.parametrize('name,layout', VGG_CASES)
def test_vgg(tmp_path, helpers, name, layout):
    run_parity(tmp_path, helpers, name, layout, batch=1, size=224)


def test_cli_on_a_real_pth(tmp_path, helpers):
    """The command-line tool on a torch-written file (the one users run)."""
    net = torchvision.models.vgg11_bn(weights=None)
    torch.save(net.state_dict(), tmp_path / 'vgg11_bn-8a719046.pth')
    tool = os.path.join(helpers.repo_root, 'tools', 'model_converters', 'convert.py')
    run = subprocess.run([sys.executable, tool, str(tmp_path / 'vgg11_bn-8a719046.pth'),
                          str(tmp_path / 'out.ckpt')], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert 'torchvision vgg11_bn: converted 54, zero-filled 0, dropped 8, missing 0' \
        in run.stdout
    assert 'configs/vgg/vgg11bn_8xb32_in1k.py' in run.stdout
