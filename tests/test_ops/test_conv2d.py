"""mmcls_ms.ops.conv2d: oneDNN blocked-layout convolutions as a MindSpore custom op,
compared with ``nn.Conv2d`` (forward and both gradients, PyNative and graph).

Whole models with the backend against MindSpore's own kernels:
``test_backend.py``."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.ops import conv2d
from mmcls_ms.ops.conv2d import OneDNNConv2d, supports, use_onednn_convs

# in, out, kernel, stride, padding (MindSpore form), bias, input size
SHAPES = [
    (3, 16, 3, 1, 1, True, 17),            # the RGB stem
    (16, 8, (1, 7), 1, (0, 0, 3, 3), False, 12),  # Inception's 1x7
    (8, 12, 3, 2, 0, True, 15),            # stride 2, no padding ('valid')
    (12, 4, 1, 1, 0, True, 9),             # 1x1
    # VGG's last stages at small inputs: 2x2 and 1x1 maps, where the weight gradient is
    # one GEMM over all images (backward_weights_gemm in csrc/conv2d.cpp)
    (64, 32, 3, 1, 1, True, 2),
    (64, 48, 3, 1, 1, False, 1),
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
    assert conv2d.is_onednn_conv(candidate.body[0])
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
    with pytest.raises(ValueError, match=r"^0: .*'same'.*env_cfg.conv_backend='mindspore'"):
        use_onednn_convs(net)
    assert use_onednn_convs(net, strict=False) == 0
    with pytest.raises(ValueError, match='groups=2'):
        OneDNNConv2d(net[1])


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
        conv2d.fuse_relu_into_onednn_convs(net)
    net.set_train(False)
    assert conv2d.fuse_relu_into_onednn_convs(net) == 1
    assert isinstance(net.relu, nn.Identity) and net.conv.fused_relu
    got = net(x).asnumpy()
    assert got.min() == 0 and expected.min() == 0
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_mixed_precision_is_refused_with_a_clear_error():
    """The custom ops run float32 only: turning on mixed precision over them names
    the op and the way out, instead of a bare kernel status code mid-step."""
    from mmcls_ms.ops.batch_norm_relu import BatchNormReLU
    from mmcls_ms.ops.backend import check_float32_only
    from mmcls_ms.ops.pool2d import OneDNNPool2d
    check_float32_only(_ConvRelu(), '--amp')  # MindSpore's own cells: fine
    for op in (OneDNNConv2d(_conv(4, 4, 3, 1, 1, False)), OneDNNPool2d(nn.MaxPool2d(2, 2)),
               BatchNormReLU(nn.BatchNorm2d(4), relu_name='relu')):
        net = nn.SequentialCell([op])
        with pytest.raises(TypeError, match=f'--amp: 0 is a {type(op).__name__} .*float32 only'
                                            ".*env_cfg.conv_backend='mindspore'"):
            check_float32_only(net, '--amp')


def test_small_maps_take_the_batched_gemm_weight_gradient(capfd, monkeypatch):
    """On 1x1 and 2x2 maps oneDNN's own weight gradient is one small GEMM per image; the op
    runs one GEMM over all the images instead."""
    monkeypatch.setenv('MMCLS_MS_ONEDNN_VERBOSE', '1')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    reference = _Readout(_conv(64, 40, 3, 1, 1, True))
    candidate = _Readout(_conv(64, 40, 3, 1, 1, True))
    use_onednn_convs(candidate)
    x = ms.Tensor(np.random.default_rng(3).standard_normal((3, 64, 2, 2)), ms.float32)
    grads_ref = ms.grad(reference, None, reference.trainable_params())(x)
    grads_new = ms.grad(candidate, None, candidate.trainable_params())(x)
    for ref, new in zip(grads_ref, grads_new):
        ref, new = ref.asnumpy(), new.asnumpy()
        assert np.abs(new - ref).max() <= 1e-5 * np.abs(ref).max()
    assert '3x64x2x2 -> 40 k3x3 backward weights: batched sgemm' in capfd.readouterr().err


def test_batched_gemm_weight_gradient_in_chunks(capfd, monkeypatch):
    """16000 images of 64 channels on a 1x1 map: im2col is 37 MB, over the op's 32 MB
    budget, so the GEMM runs in two chunks that accumulate.  The reference is float64
    numpy (on a 1x1 map with padding 1 only the centre tap sees data): MindSpore's own
    float32 sums over 16000 images drift in the fifth digit."""
    monkeypatch.setenv('MMCLS_MS_ONEDNN_VERBOSE', '1')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    candidate = _Readout(_conv(64, 8, 3, 1, 1, True))
    use_onednn_convs(candidate)
    x_np = np.random.default_rng(4).standard_normal((16000, 64, 1, 1)).astype(np.float32)
    x = ms.Tensor(x_np)
    dy = 0.37 * (candidate.body[0](x).asnumpy()[:, :, 0, 0] > 0)   # d(readout)/d(conv out)
    dw, db = ms.grad(candidate, None, candidate.trainable_params())(x)
    dw_ref = np.zeros((8, 64, 3, 3))
    dw_ref[:, :, 1, 1] = dy.astype(np.float64).T @ x_np[:, :, 0, 0].astype(np.float64)
    db_ref = dy.astype(np.float64).sum(0)
    assert np.abs(dw.asnumpy() - dw_ref).max() <= 1e-5 * np.abs(dw_ref).max()
    assert np.abs(db.asnumpy() - db_ref).max() <= 1e-5 * np.abs(db_ref).max()
    assert '16000x64x1x1 -> 8 k3x3 backward weights: batched sgemm' in capfd.readouterr().err
