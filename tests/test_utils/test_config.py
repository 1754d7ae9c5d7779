"""Config loading: errors name the file and line, or the key."""
import os
import subprocess
import sys

import pytest

from mmcls_ms.utils.config import ConfigFileError, ConfigOverrideError, load_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def train(*args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('MMCLS_MS_DEBUG', None)
    return subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'train.py'), *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_cfg_option_of_the_wrong_type_names_the_key(tmp_path):
    result = train(QUICKSTART, '--work-dir', str(tmp_path / 'run'), '--cfg-options',
                   'model.head.num_classes=abc', cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --cfg-options model.head.num_classes=abc: model.head.num_classes must be an "
        "int (the config has 10), got the text 'abc'.")
    assert not (tmp_path / 'run').exists()


def test_syntax_error_in_a_base_file_names_the_file_and_line(tmp_path):
    (tmp_path / 'base').mkdir()
    (tmp_path / 'base' / 'model.py').write_text('model = dict(\n    type="ImageClassifier",\n'
                                                '    backbone=dict(type="VGG" depth=11))\n')
    (tmp_path / 'top.py').write_text("_base_ = ['./base/model.py']\nwork_dir = 'w'\n")
    result = train(str(tmp_path / 'top.py'), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {tmp_path / 'base' / 'model.py'}:3: syntax error")


def test_exception_in_a_config_names_the_file_and_line(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text('lr = 0.1\nsteps = [30, 60]\nmilestone = steps[2]\n')
    with pytest.raises(ConfigFileError, match=rf'{path}:3: the config raised IndexError'):
        load_config(str(path))


def test_missing_base_file_names_the_config_and_line(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text("# my config\n_base_ = ['../_base_/models/vgg11bn.py']\n")
    with pytest.raises(ConfigFileError, match=rf"{path}:2: the _base_ file "
                                              r"'../_base_/models/vgg11bn.py' does not exist"):
        load_config(str(path))


def test_override_types():
    with pytest.raises(ConfigOverrideError, match='randomness.deterministic must be True or '
                       'False'):
        load_config(QUICKSTART, ['randomness.deterministic=yes'])
    cfg = load_config(QUICKSTART, ['optim_wrapper.optimizer.lr=0.5',
                                   'train_cfg.max_epochs=3', 'work_dir=abc'])
    assert cfg.optim_wrapper.optimizer.lr == 0.5 and cfg.train_cfg.max_epochs == 3
