"""The installed commands ``mmcls-ms-train`` and ``mmcls-ms-test`` run the tools
with the same flags as ``tools/train.py`` and ``tools/test.py``."""
import importlib.metadata
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

from mmcls_ms import tools_entry

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COMMANDS = {'mmcls-ms-train': ('train', 'tools/train.py'),
            'mmcls-ms-test': ('test', 'tools/test.py')}


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO, env.get('PYTHONPATH', '')])
    return env


def _flags(help_text):
    return sorted(set(re.findall(r'--[a-z][a-z-]+', help_text)))


def _run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


def test_setup_cfg_entry_points_resolve():
    text = open(osp.join(REPO, 'setup.cfg')).read()
    for command, (function, _) in COMMANDS.items():
        target = re.search(rf'^\s*{command}\s*=\s*(\S+)$', text, re.M).group(1)
        module, attr = target.split(':')
        assert module == 'mmcls_ms.tools_entry' and attr == function
        assert callable(getattr(tools_entry, attr))


def test_installed_entry_points_resolve():
    try:
        importlib.metadata.distribution('mmcls_ms')
    except importlib.metadata.PackageNotFoundError:
        pytest.skip('mmcls_ms is not installed')
    scripts = {ep.name: ep for ep in importlib.metadata.entry_points(group='console_scripts')}
    for command, (function, _) in COMMANDS.items():
        assert scripts[command].load() is getattr(tools_entry, function)


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_entry_point_has_the_tool_flags(command, tmp_path):
    function, script = COMMANDS[command]
    tool = _run([sys.executable, script, '--help'], REPO)
    # run from an unrelated folder: the tools are found through the package
    entry = _run([sys.executable, '-c', f'from mmcls_ms.tools_entry import {function}; '
                  f'{function}()', '--help'], str(tmp_path))
    assert tool.returncode == 0 and entry.returncode == 0, entry.stderr
    assert '--cfg-options' in entry.stdout
    assert _flags(entry.stdout) == _flags(tool.stdout)


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_installed_console_script(command, tmp_path):
    exe = shutil.which(command)
    if exe is None:
        pytest.skip(f'{command} is not installed (pip install .)')
    out = _run([exe, '--help'], str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert _flags(out.stdout) == _flags(_run([sys.executable, COMMANDS[command][1], '--help'],
                                             REPO).stdout)
    # a real run that reaches the config loader: one clear line, exit status 1
    args = ['missing_config.py'] + (['missing.ckpt'] if command == 'mmcls-ms-test' else [])
    out = _run([exe] + args, str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.strip().startswith('error: Config file not found: missing_config.py')


def test_missing_tool_is_one_clear_error():
    with pytest.raises(FileNotFoundError, match='reinstall mmcls_ms'):
        tools_entry.tool_path('no_such_tool.py')
