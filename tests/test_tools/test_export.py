"""tools/deployment/export.py: MindIR and ONNX round trips on the small quickstart models."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mindspore as ms

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO_ROOT, 'tools', 'deployment', 'export.py')
VGG = 'configs/vgg/vgg11bn-gap_1xb32_digits.py'
INCEPTION = 'configs/inception_v3/inception-v3-gap_1xb32_digits.py'

try:
    import onnxruntime  # noqa: F401
    HAVE_ORT = True
except ImportError:
    HAVE_ORT = False


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Trained-looking weights: random, then a few BN-statistics updates so the
    logits have a sane size (exports are compared on them)."""
    from mmcls_ms.apis import get_model
    from mmcls_ms.weights.checkpoint import save_checkpoint
    folder = tmp_path_factory.mktemp('export')
    paths = {}
    for name, config, size in (('vgg', VGG, 32), ('inception', INCEPTION, 80)):
        model = get_model(os.path.join(REPO_ROOT, config))
        model.set_train(True)  # BN moving statistics follow a few real batches
        rng = np.random.default_rng(1)
        for _ in range(3):
            model(ms.Tensor(rng.integers(0, 256, (4, 3, size, size), dtype=np.uint8)))
        model.set_train(False)
        paths[name] = str(folder / f'{name}.ckpt')
        save_checkpoint(model, paths[name])
    return paths


@pytest.mark.parametrize('fmt', ['mindir', 'onnx'])
@pytest.mark.parametrize('name,config,size', [('vgg', VGG, 32), ('inception', INCEPTION, 80)])
def test_round_trip(checkpoints, tmp_path, name, config, size, fmt):
    if fmt == 'onnx' and not HAVE_ORT:
        pytest.skip('onnxruntime not installed (pip install onnxruntime)')
    out = tmp_path / name
    result = _run(config, checkpoints[name], '--format', fmt, '--shape', str(size),
                  '--out', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    path = f'{out}.{fmt}'
    assert os.path.getsize(path) > 1_000_000
    assert f'VERIFIED {fmt}: {path}' in result.stdout
    # check the file ourselves, on a batch the tool did not use
    from mmcls_ms.apis import get_model
    from mmcls_ms.deployment import run_exported
    model = get_model(os.path.join(REPO_ROOT, config), pretrained=checkpoints[name])
    batch = np.random.default_rng(7).integers(0, 256, (1, 3, size, size), dtype=np.uint8)
    expected = model(ms.Tensor(batch)).asnumpy()
    got = run_exported(path, fmt, batch)
    assert got.shape == (1, 10)
    scale = max(1.0, float(np.abs(expected).max()))
    tol = 1e-5 if fmt == 'mindir' else 1e-4
    assert np.abs(got - expected).max() <= tol * scale
    if fmt == 'onnx' and name == 'inception':
        # the swaps that made InceptionV3 exportable were reported
        assert 'AvgPool2d -> PaddedAvgPool2d' in result.stdout
        assert 'Conv2d -> PadThenConv2d' in result.stdout


def test_export_detects_a_wrong_file(checkpoints, tmp_path):
    """run_exported on another model's file gives other logits: the check can fail."""
    from mmcls_ms.apis import get_model
    from mmcls_ms.deployment import export_model, run_exported
    model = get_model(os.path.join(REPO_ROOT, VGG), pretrained=checkpoints['vgg'])
    result = export_model(model, str(tmp_path / 'a'), 'mindir', (1, 3, 32, 32))
    assert result.verified and result.max_abs_diff <= 1e-5
    other = get_model(os.path.join(REPO_ROOT, VGG))  # fresh random weights
    batch = np.random.default_rng(3).integers(0, 256, (1, 3, 32, 32), dtype=np.uint8)
    assert np.abs(run_exported(result.path, 'mindir', batch) -
                  other(ms.Tensor(batch)).asnumpy()).max() > 1e-3


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    result = _run(VGG, str(tmp_path / 'nope.ckpt'), '--format', 'mindir')
    assert result.returncode == 1
    assert 'Checkpoint not found' in result.stderr and 'nope.ckpt' in result.stderr
    assert 'Traceback' not in result.stderr


def test_bad_shape_is_a_clear_error(checkpoints):
    result = _run(VGG, checkpoints['vgg'], '--shape', '1', '3', '32')
    assert result.returncode == 1
    assert '--shape' in result.stderr and 'Traceback' not in result.stderr


@pytest.mark.skipif(not HAVE_ORT, reason='onnxruntime not installed')
def test_fast_path_export_matches_the_unchanged_model(checkpoints, tmp_path):
    out = tmp_path / 'fast'
    result = _run(INCEPTION, checkpoints['inception'], '--format', 'onnx', '--shape', '80',
                  '--fast', '--out', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'BatchNorms folded' in result.stdout
    assert f'VERIFIED onnx: {out}.onnx' in result.stdout
