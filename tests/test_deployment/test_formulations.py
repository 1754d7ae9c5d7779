"""The export-time formulations compute exactly what the cells they replace compute."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import nn

from mmcls_ms.deployment import (GlobalAvgPool2d, PaddedAvgPool2d, PadThenConv2d,
                                 make_export_friendly, valid_count_map)


def _rand(shape, seed=0):
    return ms.Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_valid_count_map_by_hand():
    # 4x4 input, 3x3 window, stride 1, padding 1: corners see 4 cells, edges 6, inside 9
    counts = valid_count_map(4, 4, (3, 3), (1, 1), (1, 1, 1, 1))
    expected = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]], np.float32)
    np.testing.assert_array_equal(counts, expected)
    # stride 2 on 5x5, padding 1: outputs at rows -1..1, 1..3, 3..5
    counts = valid_count_map(5, 5, (3, 3), (2, 2), (1, 1, 1, 1))
    np.testing.assert_array_equal(counts[0], [4, 6, 4])


@pytest.mark.parametrize('count_include_pad', [True, False])
@pytest.mark.parametrize('kernel,stride,padding,size', [
    (3, 1, 1, (35, 35)), (3, 1, 1, (8, 9)), (3, 2, 1, (9, 9)), (5, 1, 2, (6, 7))])
def test_padded_avg_pool_matches_mindspore(count_include_pad, kernel, stride, padding, size):
    pool = nn.AvgPool2d(kernel, stride, pad_mode='pad', padding=padding,
                        count_include_pad=count_include_pad)
    x = _rand((2, 3) + size)
    same = PaddedAvgPool2d.from_cell(pool, size)
    np.testing.assert_allclose(same(x).asnumpy(), pool(x).asnumpy(), rtol=0, atol=1e-6)


def test_count_exclude_pad_needs_the_input_size():
    with pytest.raises(ValueError, match='input_hw'):
        PaddedAvgPool2d(3, 1, (1, 1, 1, 1), count_include_pad=False)


@pytest.mark.parametrize('kernel,padding,bias', [
    ((1, 7), (0, 0, 3, 3), False), ((7, 1), (3, 3, 0, 0), True), ((3, 3), (1, 2, 0, 1), True)])
def test_pad_then_conv_matches_the_padded_conv(kernel, padding, bias):
    conv = nn.Conv2d(4, 6, kernel, pad_mode='pad', padding=padding, has_bias=bias,
                     bias_init='normal')
    x = _rand((2, 4, 9, 10))
    expected = conv(x).asnumpy()
    weight = conv.weight
    same = PadThenConv2d(conv)
    assert same.conv.weight is weight  # shared, not copied
    np.testing.assert_allclose(same(x).asnumpy(), expected, rtol=0, atol=1e-5)


def test_global_avg_pool_matches_adaptive():
    x = _rand((2, 5, 7, 6))
    np.testing.assert_allclose(GlobalAvgPool2d()(x).asnumpy(),
                               nn.AdaptiveAvgPool2d(1)(x).asnumpy(), atol=1e-6)


class _Toy(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, (1, 3), pad_mode='pad', padding=(0, 0, 1, 1))
        self.pool = nn.AvgPool2d(3, 1, pad_mode='pad', padding=1, count_include_pad=False)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.body = nn.SequentialCell([nn.Conv2d(4, 4, 3, pad_mode='pad', padding=1),
                                       nn.AvgPool2d(3, 1, pad_mode='pad', padding=1)])

    def construct(self, x):
        return self.gap(self.body(self.pool(self.conv(x))))


def test_make_export_friendly_swaps_and_keeps_outputs_and_names():
    net = _Toy()
    net.set_train(False)
    x = _rand((1, 3, 6, 6))
    expected = net(x).asnumpy()
    names = [p.name for p in net.get_parameters()]
    swapped = make_export_friendly(net, (1, 3, 6, 6))
    assert len(swapped) == 4, swapped
    assert isinstance(net.pool, PaddedAvgPool2d) and isinstance(net.gap, GlobalAvgPool2d)
    assert isinstance(net.conv, PadThenConv2d) and isinstance(net.body[1], PaddedAvgPool2d)
    assert isinstance(net.body[0], nn.Conv2d)  # even padding exports fine: left alone
    assert [p.name for p in net.get_parameters()] == names
    np.testing.assert_allclose(net(x).asnumpy(), expected, atol=1e-6)
