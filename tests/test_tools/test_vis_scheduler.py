"""tools/visualization/vis_scheduler.py: the plotted values are the schedule."""
import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO_ROOT, 'tools', 'visualization', 'vis_scheduler.py')
DIGITS = os.path.join(REPO_ROOT, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('vis_scheduler', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plot_is_the_warmup_and_cosine_of_the_config(tool, tmp_path):
    # digits recipe: lr 0.01, LinearLR from 0.1x over epoch 0, cosine to 0 by epoch 5
    out = tmp_path / 'lr.png'
    fig = tool.main([DIGITS, '-d', '100', '-s', str(out), '--not-show'])
    length = math.ceil(100 / 32)  # 4 iterations per epoch
    # mmengine's LinearLR reaches end_factor on the window's last step
    expected = [0.01 * (0.1 + 0.9 * i / (length - 1)) for i in range(length)]
    expected += [0.01 * (1 + math.cos(math.pi * t / (4 * length))) / 2
                 for t in range(4 * length)]
    x, y = fig.axes[0].lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(5 * length))
    np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-12)
    assert out.stat().st_size > 10000  # a real PNG


def test_ngpus_drop_last_and_iteration_loops(tool):
    from mmcls_ms.utils.config import load_config
    cfg = load_config(DIGITS, ['train_dataloader.drop_last=True'])
    assert tool._epoch_length(cfg, 100, 2) == 1  # 100 // 64
    cfg = load_config(DIGITS, ['train_cfg.by_epoch=False', 'train_cfg.max_iters=7',
                               'param_scheduler.0.by_epoch=False',
                               'param_scheduler.0.convert_to_iter_based=False',
                               'param_scheduler.0.end=4', 'param_scheduler.1.by_epoch=False',
                               'param_scheduler.1.convert_to_iter_based=False',
                               'param_scheduler.1.begin=4', 'param_scheduler.1.end=7'])
    values, by_epoch = tool.schedule(cfg, 'lr', epoch_length=3)
    assert not by_epoch and len(values) == 7
    np.testing.assert_allclose(values[:4], [0.01 * (0.1 + 0.9 * i / 3) for i in range(4)])
    np.testing.assert_allclose(values[4:], [0.01 * (1 + math.cos(math.pi * t / 3)) / 2
                                            for t in range(3)])
    momentum, _ = tool.schedule(cfg, 'momentum', epoch_length=3)
    assert momentum == [0.9] * 7


def test_no_display_and_no_save_path_is_an_error():
    env = dict(os.environ, DISPLAY='', WAYLAND_DISPLAY='')
    result = subprocess.run([sys.executable, TOOL, DIGITS, '-d', '100'], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert '--save-path' in result.stderr and 'Traceback' not in result.stderr
