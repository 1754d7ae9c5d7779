"""mmcls_ms.ops.onednn_conv: oneDNN blocked-layout convolutions as a MindSpore custom op.

In this process the oneDNN ISA is capped at AVX2 (oneDNN then runs its blocked
jit:avx2 kernels for the op); the subprocess test runs the real
``MMCLS_MS_CONV_BACKEND=onednn`` setting, with the cap lifted.
"""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.ops import onednn_conv, onednn_library
from mmcls_ms.ops.onednn_conv import OneDNNConv2d, supports, use_onednn_convs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# in, out, kernel, stride, padding (MindSpore form), bias, input size
SHAPES = [
    (3, 16, 3, 1, 1, True, 17),            # the RGB stem
    (16, 8, (1, 7), 1, (0, 0, 3, 3), False, 12),  # Inception's 1x7
    (8, 12, 3, 2, 0, True, 15),            # stride 2, no padding ('valid')
    (12, 4, 1, 1, 0, True, 9),             # 1x1
]


class _Readout(nn.Cell):
    def __init__(self, conv):
        super().__init__()
        self.body = nn.SequentialCell([conv, nn.ReLU()])

    def construct(self, x):
        return (self.body(x) * 0.37).sum()


def _conv(cin, cout, kernel, stride, padding, bias):
    ms.set_seed(1)
    return nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode='pad' if padding else 'valid',
                     padding=padding, has_bias=bias, weight_init='he_uniform',
                     bias_init='uniform')


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', SHAPES, ids=lambda s: f'{s[0]}to{s[1]}k{s[2]}s{s[3]}')
def test_forward_and_gradients_equal_nn_conv2d(mode, shape):
    ms.set_context(mode=mode)
    cin, cout, kernel, stride, padding, bias, size = shape
    reference = _Readout(_conv(cin, cout, kernel, stride, padding, bias))
    candidate = _Readout(_conv(cin, cout, kernel, stride, padding, bias))
    names = [p.name for p in candidate.get_parameters()]
    assert use_onednn_convs(candidate) == 1
    assert onednn_conv.is_onednn_conv(candidate.body[0])
    assert [p.name for p in candidate.get_parameters()] == names  # checkpoints still load

    x = ms.Tensor(np.random.default_rng(0).standard_normal((2, cin, size, size)), ms.float32)
    y_ref, y_new = reference.body[0](x).asnumpy(), candidate.body[0](x).asnumpy()
    assert y_ref.shape == y_new.shape
    assert np.abs(y_new - y_ref).max() <= 1e-5 * np.abs(y_ref).max()
    grads_ref = ms.grad(reference, 0, reference.trainable_params())(x)
    grads_new = ms.grad(candidate, 0, candidate.trainable_params())(x)
    pairs = [(grads_ref[0], grads_new[0])] + list(zip(grads_ref[1], grads_new[1]))
    assert len(pairs) == (3 if bias else 2)
    for ref, new in pairs:
        ref, new = ref.asnumpy(), new.asnumpy()
        assert np.abs(new - ref).max() <= 1e-5 * np.abs(ref).max()


class _TwoConvs(nn.Cell):
    def __init__(self, first, second):
        super().__init__()
        self.first, self.second = first, second

    def construct(self, x):
        return self.first(x), self.second(x)


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
def test_equal_tensor_shapes_with_different_settings(mode):
    """Regression: MindSpore caches inferred shapes by input shapes; a 3x3
    stride-1 and a 3x3 stride-2 conv with equal tensors must not share one."""
    ms.set_context(mode=mode)
    net = _TwoConvs(_conv(8, 8, 3, 1, 1, True), _conv(8, 8, 3, 2, 0, True))
    x = ms.Tensor(np.random.default_rng(2).standard_normal((1, 8, 15, 15)), ms.float32)
    expected = [y.asnumpy() for y in net(x)]
    assert use_onednn_convs(net) == 2
    got = [y.asnumpy() for y in net(x)]
    assert [y.shape for y in got] == [(1, 8, 15, 15), (1, 8, 7, 7)]
    for y_new, y_ref in zip(got, expected):
        assert np.abs(y_new - y_ref).max() <= 1e-5 * np.abs(y_ref).max()


def test_unsupported_convs_are_named_or_left_alone():
    net = nn.SequentialCell([nn.Conv2d(4, 4, 3, pad_mode='same'),
                             nn.Conv2d(4, 4, 3, group=2, pad_mode='pad', padding=1),
                             nn.Conv2d(4, 4, 3, pad_mode='pad', padding=(0, 1, 1, 1))])
    assert supports(net[0]) == "pad_mode 'same'"
    assert supports(net[1]) == 'groups=2'
    assert supports(net[2]).startswith('uneven padding')
    with pytest.raises(ValueError, match=r"^0: .*pad_mode 'same'.*MMCLS_MS_CONV_BACKEND"):
        use_onednn_convs(net)
    assert use_onednn_convs(net, strict=False) == 0
    with pytest.raises(ValueError, match='groups=2'):
        OneDNNConv2d(net[1])


def test_build_is_cached_and_failures_are_explained(tmp_path, monkeypatch):
    path = onednn_library.library_path()
    assert osp.isfile(path) and onednn_library._build_key() in path
    # a fresh cache: the library is compiled again, atomically, into that cache
    monkeypatch.setattr(onednn_library, '_library', None)
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path))
    built = onednn_library.library_path()
    assert built.startswith(str(tmp_path)) and os.listdir(tmp_path / 'ops') == [osp.basename(built)]
    # no compiler: a clear reason, nothing half-written left behind
    monkeypatch.setattr(onednn_library, '_library', None)
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'other'))
    monkeypatch.setenv('CXX', str(tmp_path / 'no-such-compiler'))
    with pytest.raises(onednn_library.OneDNNConvUnavailable, match='no-such-compiler.*set CXX'):
        onednn_library.library_path()
    leftovers = os.listdir(tmp_path / 'other' / 'ops') if osp.isdir(tmp_path / 'other' / 'ops') \
        else []
    assert leftovers == []


SCRIPT = """
import numpy as np, mindspore as ms, mmcls_ms
from mmcls_ms.apis import get_model
from mmcls_ms.ops.onednn_conv import is_onednn_conv
print('DECISION', mmcls_ms.ONEDNN_DECISION.summary())
ms.set_context(mode=ms.GRAPH_MODE)
logits = []
for config, size in (('{vgg}', 32), ('{inception}', 96)):
    ms.set_seed(0)
    model = get_model(config)
    model.set_train(False)
    print('ONEDNN_CONVS', sum(is_onednn_conv(c) for _, c in model.cells_and_names()))
    x = np.random.default_rng(0).integers(0, 256, (2, 3, size, size)).astype(np.uint8)
    logits.append(model(ms.Tensor(x)).asnumpy())
# two steps of the engine's compiled training step on VGG: the op's backward in a real graph
from mmcls_ms.engine.optimizers import SGD
from mmcls_ms.engine.runner.train_step import TrainStep
ms.set_seed(0)
model = get_model('{vgg}')
model.set_train(True)
step = TrainStep(model, SGD(model.trainable_params(), lr=0.01, momentum=0.9))
rng = np.random.default_rng(1)
for _ in range(2):
    step(ms.Tensor(rng.integers(0, 256, (8, 3, 32, 32)).astype(np.uint8)),
         ms.Tensor(rng.integers(0, 10, 8).astype(np.int32)))
logits.append(np.concatenate([p.asnumpy().ravel() for p in model.trainable_params()]))
np.savez('{out}', *logits)
"""


def test_whole_model_in_a_process_with_the_backend_on(tmp_path):
    """MMCLS_MS_CONV_BACKEND=onednn lifts the ISA cap and swaps every conv; the
    logits of VGG and InceptionV3, and VGG's weights after two compiled training
    steps, equal those with MindSpore's convolutions (same random weights)."""
    configs = dict(vgg=osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py'),
                   inception=osp.join(REPO, 'configs', 'inception_v3',
                                      'inception-v3_8xb32_in1k.py'))
    outputs = {}
    for backend in ('onednn', 'mindspore'):
        out = str(tmp_path / f'{backend}.npz')
        script = tmp_path / f'run_{backend}.py'
        script.write_text(SCRIPT.format(out=out, **configs))
        env = dict(os.environ, MMCLS_MS_CONV_BACKEND=backend, PYTHONPATH=REPO)
        env.pop('ONEDNN_MAX_CPU_ISA', None)  # let mmcls_ms decide, as for a user
        run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        with np.load(out) as saved:
            outputs[backend] = ([saved['arr_0'], saved['arr_1'], saved['arr_2']], run.stdout)
    logits_new, log_new = outputs['onednn']
    logits_ref, log_ref = outputs['mindspore']
    assert 'ONEDNN_CONVS 8\nONEDNN_CONVS 94' in log_new and 'convolutions: onednn' in log_new
    assert 'ONEDNN_CONVS 0\nONEDNN_CONVS 0' in log_ref and 'convolutions: mindspore' in log_ref
    for new, ref in zip(logits_new[:2], logits_ref[:2]):
        assert np.abs(new - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
    trained_new, trained_ref = logits_new[2], logits_ref[2]
    assert np.abs(trained_new - trained_ref).max() <= 1e-5  # weights after 2 train steps


def test_complexity_counts_swapped_convs():
    from mmcls_ms.models.utils.complexity import count_complexity
    net = nn.SequentialCell([_conv(3, 8, 3, 1, 1, False), nn.ReLU()])
    before = count_complexity(net, (1, 3, 8, 8)).macs
    use_onednn_convs(net)
    assert count_complexity(net, (1, 3, 8, 8)).macs == before == 8 * 8 * 8 * 3 * 9


class _ConvRelu(nn.Cell):
    """mmcls_ms's conv -> (folded BN) -> ReLU layout."""

    def __init__(self):
        super().__init__()
        self.conv = _conv(4, 6, 3, 1, 1, True)
        self.bn = nn.Identity()
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
def test_fused_relu_for_inference(mode):
    ms.set_context(mode=mode)
    net = _ConvRelu()
    x = ms.Tensor(np.random.default_rng(3).standard_normal((2, 4, 9, 9)), ms.float32)
    expected = net(x).asnumpy()
    use_onednn_convs(net)
    net.set_train(True)
    with pytest.raises(RuntimeError, match='set_train\\(False\\)'):
        onednn_conv.fuse_relu_into_onednn_convs(net)
    net.set_train(False)
    assert onednn_conv.fuse_relu_into_onednn_convs(net) == 1
    assert isinstance(net.relu, nn.Identity) and net.conv.fused_relu
    got = net(x).asnumpy()
    assert got.min() == 0 and expected.min() == 0
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_mixed_precision_is_refused_with_a_clear_error():
    """The custom ops run float32 only: turning on mixed precision over them names
    the op and the way out, instead of a bare kernel status code mid-step."""
    from mmcls_ms.ops.batch_norm_relu import BatchNormReLU
    from mmcls_ms.ops.float32_only import check_float32_only
    from mmcls_ms.ops.onednn_pool import OneDNNPool2d
    check_float32_only(_ConvRelu(), '--amp')  # MindSpore's own cells: fine
    for op in (OneDNNConv2d(_conv(4, 4, 3, 1, 1, False)), OneDNNPool2d(nn.MaxPool2d(2, 2)),
               BatchNormReLU(nn.BatchNorm2d(4), relu_name='relu')):
        net = nn.SequentialCell([op])
        with pytest.raises(TypeError, match=f'--amp: 0 is a {type(op).__name__} .*float32 only'
                                            '.*unset MMCLS_MS_CONV_BACKEND'):
            check_float32_only(net, '--amp')
