"""Device selection: a device this machine lacks, or a compile level it cannot
run, stops a run at once with one line; the Ascend settings the docs name
exist in the code."""
import inspect
import os
import re
import subprocess
import sys

import pytest

from mmcls_ms.utils.device import (JIT_LEVELS, DeviceUnavailableError, check_device_target,
                                   check_jit_level)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _has(target):
    import mindspore as ms
    return ms.hal.is_available(target)


def test_unknown_device_target_is_refused():
    with pytest.raises(ValueError, match="env_cfg.device_target='TPU' is not one of"):
        check_device_target('TPU')
    assert check_device_target('CPU') == 'CPU'


@pytest.mark.parametrize('target', ['Ascend', 'GPU'])
def test_missing_device_is_named(target):
    if _has(target):
        pytest.skip(f'this machine has a {target}')
    with pytest.raises(DeviceUnavailableError, match=f"env_cfg.device_target='{target}', but MindSpore "
                       f'finds no usable {target}'):
        check_device_target(target)


def test_jit_level_checked_against_the_device():
    check_jit_level('O0', 'CPU')
    check_jit_level('O2', 'Ascend')
    with pytest.raises(ValueError, match="env_cfg.jit_level='O2' runs on Ascend only"):
        check_jit_level('O2', 'CPU')
    with pytest.raises(ValueError, match="env_cfg.jit_level='O3' is not one of"):
        check_jit_level('O3', 'CPU')


def test_train_on_missing_ascend_fails_at_once_in_one_line(tmp_path):
    if _has('Ascend'):
        pytest.skip('this machine has an Ascend NPU')
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, 'tools', 'train.py'),
         os.path.join(REPO_ROOT, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py'),
         '--work-dir', str(tmp_path), '--cfg-options', 'env_cfg.device_target=Ascend'],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and "env_cfg.device_target='Ascend'" in lines[0], proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr and 'C++ Call Stack' not in proc.stderr
    assert not list(tmp_path.glob('*.ckpt'))


def _ascend_table():
    text = open(os.path.join(REPO_ROOT, 'docs', 'distributed.md')).read()
    section = text[text.index('## Ascend'):]
    table = section[section.index('| setting |'):]
    rows = [row for row in table.split('\n\n')[0].splitlines()[2:]]
    return [row.split('|')[1] for row in rows]


def test_every_ascend_setting_in_the_docs_exists_in_the_code():
    from mmcls_ms.engine.optimizers.optim_wrapper import AmpOptimWrapper
    runner_src = open(os.path.join(REPO_ROOT, 'mmcls_ms', 'engine', 'runner',
                                   'runner.py')).read()
    amp_args = inspect.signature(AmpOptimWrapper.__init__).parameters
    cells = _ascend_table()
    assert len(cells) >= 5, cells
    named = 0
    for cell in cells:
        for key in re.findall(r'env_cfg\.(\w+)', cell):
            assert f"'{key}'" in runner_src, f'env_cfg.{key} is not read by the runner'
            named += 1
        for key, value in re.findall(r"`(\w+)='([^']+)'`", cell):
            if key == 'type':
                continue
            assert key in amp_args, f'AmpOptimWrapper has no argument {key}'
            named += 1
        for var in re.findall(r'`(HCCL_\w+)`', cell):
            assert var in ('HCCL_CONNECT_TIMEOUT', 'HCCL_EXEC_TIMEOUT'), var
            named += 1
    assert named >= 6
    # the jit levels the table describes are the ones the code accepts
    assert set(JIT_LEVELS) == {'O0', 'O1', 'O2'}
