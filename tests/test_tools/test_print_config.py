import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO_ROOT, 'tools', 'misc', 'print_config.py')


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_prints_merged_config_with_overrides():
    result = _run('configs/vgg/vgg11_8xb32_in1k.py', '--cfg-options', 'model.backbone.depth=13',
                  'train_dataloader.batch_size=8')
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith('Config:')
    assert 'depth=13' in out and 'depth=11' not in out
    assert 'batch_size=8' in out
    # inherited from _base_ files
    assert "type='ImageClassifier'" in out and "default_scope = 'mmcls_ms'" in out


def test_malformed_override_is_a_clear_error():
    result = _run('configs/vgg/vgg11_8xb32_in1k.py', '--cfg-options', 'model.backbone.depth')
    assert result.returncode == 1
    assert 'model.backbone.depth' in result.stderr and 'KEY=VALUE' in result.stderr
    assert 'Traceback' not in result.stderr
    result = _run('configs/vgg/vgg11_8xb32_in1k.py', '--cfg-options', 'model.backbone=[1,2')
    assert result.returncode == 1 and "'model.backbone'" in result.stderr


def test_missing_config_is_a_clear_error():
    result = _run('configs/nope.py')
    assert result.returncode == 1 and 'configs/nope.py' in result.stderr
