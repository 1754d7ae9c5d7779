"""Optimizer updates equal the PyTorch-convention formulas, step by step."""
import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import mindspore as ms
from mindspore import Parameter, Tensor, nn

from mmcls_ms.engine.optimizers import SGD, AdamW, RMSprop, build_optimizer, param_groups

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((3, 4)).astype(np.float32)
B0 = RNG.standard_normal((3,)).astype(np.float32)
GRADS = [(RNG.standard_normal((3, 4)).astype(np.float32),
          RNG.standard_normal((3,)).astype(np.float32)) for _ in range(3)]


def run(opt_cls, **kwargs):
    params = [Parameter(Tensor(W0.copy()), name='w'), Parameter(Tensor(B0.copy()), name='b')]
    opt = opt_cls(params, **kwargs)
    for gw, gb in GRADS:
        opt((Tensor(gw), Tensor(gb)))
    return [p.asnumpy() for p in params]


def sgd_reference(lr, momentum, wd, nesterov):
    out = []
    for p0, i in ((W0, 0), (B0, 1)):
        p, buf = p0.astype(np.float64), np.zeros_like(p0, np.float64)
        for grads in GRADS:
            g = grads[i] + wd * p
            buf = momentum * buf + g
            p = p - lr * (g + momentum * buf if nesterov else buf)
        out.append(p)
    return out


@pytest.mark.parametrize('fused', [None, False])  # on CPU: the fused kernel, the primitives
@pytest.mark.parametrize('nesterov', [False, True])
def test_sgd_matches_formula(nesterov, fused):
    got = run(SGD, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=nesterov, fused=fused)
    for g, e in zip(got, sgd_reference(0.1, 0.9, 1e-2, nesterov)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_rmsprop_matches_formula():
    lr, alpha, eps, momentum = 0.01, 0.9, 1.0, 0.9
    got = run(RMSprop, lr=lr, alpha=alpha, eps=eps, momentum=momentum)
    for (p0, i), g_ in zip(((W0, 0), (B0, 1)), got):
        p = p0.astype(np.float64)
        sq, buf = np.zeros_like(p), np.zeros_like(p)
        for grads in GRADS:
            g = grads[i]
            sq = alpha * sq + (1 - alpha) * g * g
            buf = momentum * buf + g / (np.sqrt(sq) + eps)
            p = p - lr * buf
        np.testing.assert_allclose(g_, p, rtol=1e-5, atol=1e-6)


def test_adamw_matches_formula():
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.05
    got = run(AdamW, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for (p0, i), g_ in zip(((W0, 0), (B0, 1)), got):
        p = p0.astype(np.float64)
        m, v = np.zeros_like(p), np.zeros_like(p)
        for t, grads in enumerate(GRADS, 1):
            g = grads[i]
            p = p * (1 - lr * wd)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(g_, p, rtol=1e-5, atol=1e-6)


class Tiny(nn.Cell):

    def __init__(self):
        super().__init__()
        self.backbone = nn.SequentialCell(nn.Conv2d(3, 4, 3, has_bias=True),
                                          nn.BatchNorm2d(4))
        self.head = nn.Dense(4, 2)


def test_paramwise_cfg_groups():
    net = Tiny()
    groups = param_groups(net, 1e-4, dict(norm_decay_mult=0.0, bias_decay_mult=0.5,
                                          custom_keys={'head': dict(lr_mult=10, decay_mult=2)}))
    by_name = {p.name: (g.lr_mult, g.weight_decay) for g in groups for p in g.params}
    assert by_name['backbone.0.weight'] == (1.0, pytest.approx(1e-4))
    assert by_name['backbone.0.bias'] == (1.0, pytest.approx(0.5e-4))
    assert by_name['backbone.1.gamma'] == (1.0, 0.0)
    assert by_name['backbone.1.beta'] == (1.0, 0.0)
    assert by_name['head.weight'] == (10.0, pytest.approx(2e-4))
    assert by_name['head.bias'] == (10.0, pytest.approx(2e-4))
    opt = build_optimizer(net, dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                                   weight_decay=1e-4),
                                    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)})))
    lr_of = {p.name: lr for g, lr in zip(opt.groups, opt.current_group_lrs()) for p in g.params}
    assert lr_of['head.weight'] == pytest.approx(1.0)
    assert lr_of['backbone.0.weight'] == pytest.approx(0.1)


def test_unknown_optimizer_and_bad_paramwise_key():
    net = Tiny()
    with pytest.raises(KeyError, match=r"Unknown type 'SDG'.*optimizer.*mmcls_ms.*'SGD'"):
        build_optimizer(net, dict(optimizer=dict(type='SDG', lr=0.1)))
    with pytest.raises(KeyError, match='paramwise_cfg'):
        build_optimizer(net, dict(optimizer=dict(type='SGD', lr=0.1),
                                  paramwise_cfg=dict(norm_decay=0.0)))
    with pytest.raises(KeyError, match='needs an `lr`'):
        build_optimizer(net, dict(optimizer=dict(type='SGD')))


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('opt_type', ['SGD', 'AdamW', 'RMSprop'])
def test_each_group_gets_its_lr_and_decay(mode, opt_type):
    """Two steps with paramwise groups (lr_mult, decay_mult, no decay on norms) equal
    the same optimizer built per parameter with that parameter's lr and decay."""
    ms.set_context(mode=mode)
    net = Tiny()
    wrapper = dict(optimizer=dict(type=opt_type, lr=0.1, weight_decay=1e-2),
                   paramwise_cfg=dict(norm_decay_mult=0.0,
                                      custom_keys={'head': dict(lr_mult=10, decay_mult=2)}))
    groups = param_groups(net, 1e-2, wrapper['paramwise_cfg'])
    start = {p.name: p.asnumpy().copy() for p in net.trainable_params()}  # not a view
    opt = build_optimizer(net, wrapper)
    rng = np.random.default_rng(4)
    grads = [tuple(Tensor(rng.standard_normal(p.shape).astype(np.float32))
                   for p in opt.parameters) for _ in range(2)]
    for step in grads:
        opt(step)
    got = {p.name: p.asnumpy() for p in opt.parameters}
    assert len({g.lr_mult for g in groups}) == 2 and len({g.weight_decay for g in groups}) == 3

    opt_cls = {'SGD': SGD, 'AdamW': AdamW, 'RMSprop': RMSprop}[opt_type]
    for group in groups:
        for param in group.params:
            index = [p.name for p in opt.parameters].index(param.name)
            single = Parameter(Tensor(start[param.name]), name='single_' + param.name)
            alone = opt_cls([single], lr=0.1 * group.lr_mult, weight_decay=group.weight_decay)
            for step in grads:
                alone((step[index],))
            np.testing.assert_allclose(got[param.name], single.asnumpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=param.name)


STEP_SCRIPT = '''
import sys
import numpy as np
import mindspore as ms
from mindspore import nn, ops
import mmcls_ms  # noqa: F401  (oneDNN ISA cap)
from mmcls_ms.engine.optimizers import build_optimizer
from mmcls_ms.engine.runner.train_step import TrainStep

ms.set_context(mode=ms.GRAPH_MODE, save_graphs=1, save_graphs_path=sys.argv[2])


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, has_bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Dense(8, 4)
        self.ce = nn.CrossEntropyLoss()

    def loss(self, x, y):
        return self.ce(self.fc(ops.relu(self.bn(self.conv(x))).mean((2, 3))), y)


net = Net()
optimizer = build_optimizer(net, dict(optimizer=dict(type=sys.argv[1], lr=0.1,
                                                     weight_decay=1e-4)))
step = TrainStep(net, optimizer)
step.set_train(True)
step(ms.Tensor(np.ones((2, 3, 10, 10), np.float32)), ms.Tensor(np.array([1, 2], np.int32)))
'''


@pytest.mark.parametrize('opt_type', ['SGD', 'AdamW'])
def test_weight_decay_copies_no_weights(tmp_path, opt_type):
    """The decayed step loads each weight once and never copies it (``TensorMove``).

    Tying the decay product to the gradient through the parameter
    (``ops.depend(param, grad)``) made MindSpore load every decayed weight twice
    and copy it twice per step: 198 copies in InceptionV3's step.
    """
    script = tmp_path / 'step.py'
    script.write_text(STEP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, str(script), opt_type, str(tmp_path / 'ir')],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    validated = glob.glob(str(tmp_path / 'ir' / '**' / '*_validate_*.ir'), recursive=True)
    assert validated, f'no validate IR under {tmp_path / "ir"}'
    graph = open(validated[0]).read()
    assert 'TensorMove(' not in graph
    for name in ('conv.weight', 'fc.weight'):  # the forward's Load, shared by the decay
        loads = re.findall(r'= Load\(%para\d+_' + re.escape(name) + ',', graph)
        assert len(loads) == 1, f'{name} loaded {len(loads)} times'
    if opt_type == 'SGD':  # CPU: one fused kernel for the group, no per-parameter updates
        assert 'ApplyMomentum(' not in graph
        assert len(re.findall(r'= Custom\(.*fused_sgd_step', graph)) == 1
