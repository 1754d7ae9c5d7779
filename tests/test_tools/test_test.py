"""tools/test.py refuses a checkpoint that fits only part of the model.

Real subprocess runs on the digits config, with checkpoints saved from
freshly built models (no training needed: the point is which weights load).
"""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from mmcls_ms.datasets import prepare_digits
    return prepare_digits(str(tmp_path_factory.mktemp('data') / 'digits'))


def save_model(path, num_classes):
    """A VGG-11-BN + GAP + linear head for ``num_classes``, as saved by training."""
    from mmengine.config import Config

    from mmcls_ms.registry import MODELS
    from mmcls_ms.utils import register_all_modules
    from mmcls_ms.weights.checkpoint import save_checkpoint
    register_all_modules()
    cfg = Config.fromfile(CONFIG).model
    cfg.head.num_classes = num_classes
    save_checkpoint(MODELS.build(cfg), str(path), meta=dict(epoch=1))
    return str(path)


def run_test(tmp_path, digits, checkpoint, *extra):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'test.py'), CONFIG, checkpoint,
         '--work-dir', str(tmp_path / 'work'), *extra, '--cfg-options',
         f'test_dataloader.dataset.data_root={digits}', 'test_dataloader.dataset.indices=8'],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=REPO))


def test_head_of_another_class_count_is_refused(tmp_path):
    checkpoint = save_model(tmp_path / 'three_classes.ckpt', num_classes=3)
    # refused before any data is read: no dataset needed
    proc = run_test(tmp_path, tmp_path / 'no_data', checkpoint)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert 'error: ' in proc.stderr and 'fits only part of the model' in proc.stderr
    assert '--allow-partial-checkpoint' in proc.stderr
    # the load report: which keys, and why
    assert 'head.fc.weight' in output and 'shape mismatch' in output
    assert '(3, 512)' in output and '(10, 512)' in output
    assert 'Test results' not in output


@pytest.mark.slow
def test_partial_checkpoint_is_evaluated_with_the_flag(tmp_path, digits):
    checkpoint = save_model(tmp_path / 'three_classes.ckpt', num_classes=3)
    proc = run_test(tmp_path, digits, checkpoint, '--allow-partial-checkpoint')
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert 'accuracy/top1' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_missing_backbone_parameters_are_refused(tmp_path, digits):
    import numpy as np

    from mmcls_ms.weights.checkpoint import read_checkpoint, save_state_dict
    state, meta = read_checkpoint(save_model(tmp_path / 'full.ckpt', num_classes=10))
    kept = {k: v for k, v in state.items() if not k.startswith('backbone.features.0.')}
    checkpoint = save_state_dict(kept, str(tmp_path / 'partial.ckpt'), meta=meta)
    assert np.all([k in state for k in kept])
    proc = run_test(tmp_path, digits, checkpoint)
    assert proc.returncode == 1, (proc.stdout + proc.stderr)[-3000:]
    assert 'missing in checkpoint' in proc.stdout + proc.stderr
    assert 'backbone.features.0.conv.weight' in proc.stderr
