"""tools/analysis_tools/benchmark.py runs end to end on a tiny config (no timing asserts)."""
import json
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark.py')
VGG = 'configs/vgg/vgg11bn-gap_1xb32_digits.py'


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize('task,mode', [('infer', 'graph'), ('train', 'graph'),
                                       ('infer', 'pynative')])
def test_benchmark_end_to_end(tmp_path, task, mode):
    out = tmp_path / 'bench.json'
    result = _run(VGG, '--task', task, '--mode', mode, '--shape', '32', '--batch-size', '4',
                  '--warmup', '1', '--steps', '3', '--out', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record['task'] == task and record['mode'] == mode and record['batch'] == 4
    assert record['shape'] == [32, 32]
    assert len(record['step_s']) == 3 and all(t > 0 for t in record['step_s'])
    assert record['images_per_s'] == pytest.approx(4 / record['median_step_s'], rel=1e-2)
    assert record['images_per_s_min'] <= record['images_per_s'] <= record['images_per_s_max']
    lat = record['latency_ms']
    assert lat['p50'] <= lat['p90'] <= lat['p99']
    assert record['peak_rss_mib'] > 100
    assert record['output_finite']
    # the digits recipe's SGD, stepped by the fused CPU kernel
    assert record['optimizer'] == ('SGD, fused' if task == 'train' else None)
    # VGG-11 at 32x32: 153M multiply-adds (mmcv rules) + the 512x10 head
    assert record['forward_gflop_per_image'] == pytest.approx(2 * 0.1533, rel=0.02)
    assert 'images/s (median)' in result.stdout  # the rich table
    assert json.loads(result.stdout.strip().splitlines()[-1])['task'] == task


def test_train_uses_the_config_optimizer(tmp_path):
    out = tmp_path / 'bench.json'
    result = _run(VGG, '--task', 'train', '--shape', '32', '--batch-size', '2', '--warmup', '0',
                  '--steps', '1', '--no-table', '--out', str(out),
                  '--cfg-options', 'optim_wrapper.optimizer.type=NoSuchOptimizer')
    assert result.returncode != 0
    assert 'NoSuchOptimizer' in result.stderr


def test_bad_arguments_are_clear_errors(tmp_path):
    result = _run('configs/nope.py')
    assert result.returncode == 1 and 'Config file not found' in result.stderr
    result = _run(VGG, '--shape', '1', '2', '3')
    assert result.returncode == 1 and '--shape' in result.stderr
    assert 'Traceback' not in result.stderr
