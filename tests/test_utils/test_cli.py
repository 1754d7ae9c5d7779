"""run_cli: expected errors end as one `error:` line, bugs keep their traceback.

Each case runs a real process, as a user's command would."""
import importlib
import os
import subprocess
import sys

import pytest

from mmcls_ms.utils.cli import EXPECTED_ERRORS, is_expected_error

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_main(body, tmp_path, **env):
    """Run ``main`` (whose body is ``body``) under run_cli in a new process."""
    script = tmp_path / 'tool.py'
    script.write_text('from mmcls_ms.utils.cli import run_cli\n\n'
                      'def main(argv):\n' + ''.join(f'    {line}\n' for line in body) +
                      '\nrun_cli(main)\n')
    environment = dict(os.environ, PYTHONPATH=REPO, **env)
    environment.pop('MMCLS_MS_DEBUG', None)
    environment.update(env)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_every_expected_error_class_exists():
    for dotted in EXPECTED_ERRORS:
        module, _, name = dotted.rpartition('.')
        cls = getattr(importlib.import_module(module), name, None)
        assert isinstance(cls, type) and issubclass(cls, Exception), dotted
        assert is_expected_error(cls('message')), dotted


def test_image_read_error_is_one_line(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image at all')
    result = run_main(['from mmcls_ms.datasets.transforms.loading import LoadImageFromFile',
                       f'LoadImageFromFile()(dict(img_path={str(bad)!r}))'], tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'broken.png' in lines[0]
    assert 'Traceback' not in result.stderr


def test_unsafe_pickle_error_is_one_line(tmp_path):
    result = run_main(['from mmcls_ms.weights.pth_reader import UnsafePickleError',
                       "raise UnsafePickleError('model.pth: refuses to run os.system')"],
                      tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == 'error: model.pth: refuses to run os.system'


def test_a_message_raised_by_the_tool_is_one_line(tmp_path):
    result = run_main(["raise ValueError('--shape needs 3 numbers, got 2')"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == 'error: --shape needs 3 numbers, got 2'


def test_bug_keeps_its_traceback(tmp_path):
    # a KeyError from a failed lookup is a bug, not a message for the user
    result = run_main(['settings = {}', "return settings['missing_key']"], tmp_path)
    assert result.returncode == 1
    assert 'Traceback (most recent call last)' in result.stderr
    assert "KeyError: 'missing_key'" in result.stderr
    assert 'unexpected KeyError' in result.stderr.strip().splitlines()[-1]


def test_library_value_error_keeps_its_traceback(tmp_path):
    result = run_main(['import numpy as np', 'np.ones(3).reshape(2, 2)'], tmp_path)
    assert result.returncode == 1
    assert 'Traceback (most recent call last)' in result.stderr
    assert 'unexpected ValueError' in result.stderr


def test_debug_switch_shows_the_traceback_of_expected_errors(tmp_path):
    body = ["raise FileNotFoundError('Checkpoint not found: x.ckpt')"]
    quiet = run_main(body, tmp_path)
    assert quiet.stderr.strip() == 'error: Checkpoint not found: x.ckpt'
    loud = run_main(body, tmp_path, MMCLS_MS_DEBUG='1')
    assert 'Traceback (most recent call last)' in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == 'error: Checkpoint not found: x.ckpt'


@pytest.mark.parametrize('make_error, expected', [
    (lambda: ValueError('plain'), False),   # not raised by a project statement
    (lambda: FileNotFoundError('a.py'), True),
    # os.makedirs(show_dir) where a file stands: the message names the path
    (lambda: FileExistsError(17, 'File exists', 'out/vis'), True),
])
def test_is_expected_error_without_traceback(make_error, expected):
    assert is_expected_error(make_error()) is expected
