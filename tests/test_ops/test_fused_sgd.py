"""The fused SGD kernel steps a parameter group exactly as MindSpore's primitives do."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mindspore as ms
from mindspore import Parameter, Tensor

from mmcls_ms.engine.optimizers import SGD
from mmcls_ms.engine.optimizers.base import ParamGroup
from mmcls_ms.ops.fused_sgd import fused_sgd_available

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# one tensor big enough for the kernel to split it over threads, odd sizes, a scalar
SHAPES = [(300, 500), (7,), (64, 3, 3, 3), (1,), (1001, 3)]


def make_groups(seed):
    rng = np.random.default_rng(seed)
    params = [Parameter(Tensor(rng.standard_normal(s).astype(np.float32)), name=f'p{i}')
              for i, s in enumerate(SHAPES)]
    # three groups: decayed, undecayed (a norm), and one with its own lr multiplier
    return params, [ParamGroup(params[:2], 1.0, 1e-2), ParamGroup(params[2:4], 1.0, 0.0),
                    ParamGroup(params[4:], 10.0, 2e-2)]


def train(fused, nesterov, mode):
    ms.set_context(mode=mode)
    params, groups = make_groups(0)
    opt = SGD(groups, lr=0.05, momentum=0.9, nesterov=nesterov, fused=fused)
    rng = np.random.default_rng(1)
    for step in range(3):
        grads = tuple(Tensor(rng.standard_normal(p.shape).astype(np.float32))
                      for p in opt.parameters)
        opt(grads)
        opt.set_group_lrs([lr * 0.5 for lr in opt.current_group_lrs()])  # a schedule
    return opt, [p.asnumpy() for p in opt.parameters] + [m.asnumpy() for m in opt.moments]


@pytest.mark.parametrize('mode', [ms.GRAPH_MODE, ms.PYNATIVE_MODE])
@pytest.mark.parametrize('nesterov', [False, True])
def test_fused_equals_primitives_bit_for_bit(nesterov, mode):
    fused_opt, fused = train(None, nesterov, mode)
    plain_opt, plain = train(False, nesterov, mode)
    assert fused_opt.fused and not plain_opt.fused
    for got, expected, name in zip(fused, plain, [p.name for p in fused_opt.parameters] * 2):
        np.testing.assert_array_equal(got, expected, err_msg=name)
    assert any(np.abs(m).max() > 0 for m in fused[len(SHAPES):])  # the buffers moved


def test_available_on_cpu_for_float32_only():
    assert fused_sgd_available() == ''
    half = Parameter(Tensor(np.ones(4, np.float16)), name='half_weight')
    reason = fused_sgd_available([half])
    assert 'half_weight' in reason and 'Float16' in reason
    assert not SGD([half], lr=0.1, momentum=0.9).fused  # falls back
    with pytest.raises(RuntimeError, match=r'fused=True.*half_weight.*fused=None'):
        SGD([half], lr=0.1, momentum=0.9, fused=True)


UNAVAILABLE_SCRIPT = '''
import numpy as np
import pytest
from mindspore import Parameter, Tensor
from mmcls_ms.engine.optimizers import SGD

params = [Parameter(Tensor(np.ones(3, np.float32)), name='w')]
assert not SGD(params, lr=0.1).fused
try:
    SGD(params, lr=0.1, fused=True)
except RuntimeError as err:
    print(err)
'''


def test_without_a_compiler_sgd_falls_back_or_says_why(tmp_path):
    """No C++ compiler and no cached library: fused=None uses the primitives,
    fused=True names the cause."""
    env = dict(os.environ, CXX=str(tmp_path / 'no-such-compiler'),
               MMCLS_MS_HOME=str(tmp_path / 'home'),
               PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', UNAVAILABLE_SCRIPT], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'fused=True, but the fused kernel cannot run' in proc.stdout
    assert 'no-such-compiler' in proc.stdout
