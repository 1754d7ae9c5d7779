import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO_ROOT, 'tools', 'analysis_tools', 'get_flops.py')


def _run(*args):
    result = subprocess.run([sys.executable, TOOL, *args], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _total_flops(out):
    return int(re.search(r'Flops: \S+ \(([\d,]+)\)', out).group(1).replace(',', ''))


def test_inception_v3_at_299_matches_mmpretrain_metafile():
    out = _run('configs/inception_v3/inception-v3_8xb32_in1k.py', '--shape', '299', '299')
    assert _total_flops(out) == 5_745_177_632  # mmpretrain's metafile, exactly
    assert '23,834,568' in out
    assert 'backbone.Mixed_7c' in out and 'total' in out  # the rich table


def test_small_gap_model_and_head_switch():
    base = _run('configs/vgg/vgg11bn-gap_1xb32_digits.py', '--shape', '32')
    with_head = _run('configs/vgg/vgg11bn-gap_1xb32_digits.py', '--shape', '32', '--with-head')
    # the head adds its 512 x 10 multiply-adds
    assert _total_flops(with_head) - _total_flops(base) == 512 * 10
    assert 'head.fc' in with_head and 'head.fc' not in base


@pytest.mark.slow
def test_vgg16_at_224_matches_mmpretrain_metafile():
    out = _run('configs/vgg/vgg16_8xb32_in1k.py', '--shape', '224', '224')
    assert round(_total_flops(out) / 1e9, 2) == 15.50
    assert '138,357,544' in out
