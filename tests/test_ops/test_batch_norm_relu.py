"""mmcls_ms.ops.batch_norm_relu: training BatchNorm + ReLU as one custom op.

The reference is MindSpore's own ``nn.BatchNorm2d`` followed by ``nn.ReLU``:
outputs, gradients, running statistics and eval outputs must match.
"""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.deployment.fuse import fuse_conv_bn
from mmcls_ms.ops.batch_norm_relu import (BatchNormReLU, supports, unfuse_bn_relu,
                                          use_fused_bn_relu)


class _ConvBlock(nn.Cell):
    """mmcls_ms's conv -> bn -> relu layout (InceptionV3's BasicConv2d)."""

    def __init__(self, channels, relu_name='relu'):
        super().__init__()
        self.relu_name = relu_name
        self.conv = nn.Conv2d(channels, channels, 3, pad_mode='pad', padding=1,
                              weight_init='he_uniform')
        self.bn = nn.BatchNorm2d(channels, eps=1e-3, momentum=0.9)
        setattr(self, relu_name, nn.ReLU())

    def construct(self, x):
        return getattr(self, self.relu_name)(self.bn(self.conv(x)))


def _block(channels, relu_name='relu'):
    ms.set_seed(0)
    return _ConvBlock(channels, relu_name)


def _names_and_paths(net):
    """Parameter names, and the attribute paths checkpoints are saved under."""
    return ([p.name for p in net.get_parameters()],
            [path for path, _ in net.parameters_and_names()])


def _train_two_steps(net, x, readout):
    """Gradients of sum(net(x) * readout) after two steps (running stats move twice)."""
    net.set_train(True)

    def loss_fn(inputs):
        return (net(inputs) * readout).sum()

    grad_fn = ms.value_and_grad(loss_fn, None, net.trainable_params())
    if ms.get_context('mode') == ms.GRAPH_MODE:
        grad_fn = ms.jit(grad_fn)
    for _ in range(2):
        loss, grads = grad_fn(x)
    return [loss.asnumpy()] + [g.asnumpy() for g in grads]


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', [(4, 16, 9, 7), (2, 32, 33, 33)], ids=['9x7', '33x33'])
def test_training_equals_batchnorm_then_relu(mode, shape):
    ms.set_context(mode=mode)
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.normal(3.0, 2.0, shape), ms.float32)  # mean far from 0
    readout = ms.Tensor(rng.standard_normal(shape), ms.float32)
    reference, fused = _block(shape[1]), _block(shape[1])
    names, paths = _names_and_paths(fused)
    assert use_fused_bn_relu(fused) == 1
    assert isinstance(fused.bn, BatchNormReLU) and isinstance(fused.relu, nn.Identity)
    assert _names_and_paths(fused) == (names, paths)  # checkpoints still load

    expected, got = _train_two_steps(reference, x, readout), _train_two_steps(fused, x, readout)
    for name, ref, new in zip(['loss', 'conv.weight', 'conv.bias', 'gamma', 'beta'],
                              expected, got):
        assert np.abs(new - ref).max() <= 2e-6 * max(1.0, np.abs(ref).max()), name
    for stat in ('moving_mean', 'moving_variance'):
        ref = getattr(reference.bn, stat).asnumpy()
        new = getattr(fused.bn, stat).asnumpy()
        assert not np.allclose(ref, 0 if stat == 'moving_mean' else 1)  # they did move
        assert np.abs(new - ref).max() <= 1e-5 * np.abs(ref).max(), stat

    reference.set_train(False)
    fused.set_train(False)
    eval_ref, eval_new = reference(x).asnumpy(), fused(x).asnumpy()
    assert eval_new.min() == 0 and np.abs(eval_new - eval_ref).max() <= 1e-5 * np.abs(eval_ref).max()


def test_statistics_stay_exact_when_the_mean_dwarfs_the_spread():
    """One-pass sums of squares cancel catastrophically at |mean| >> std; the kernel
    shifts by a sample first.  Reference: float64 numpy."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    rng = np.random.default_rng(1)
    x = rng.normal(1000.0, 0.5, (4, 8, 20, 20)).astype(np.float32)
    bn = nn.BatchNorm2d(8, eps=1e-5, momentum=0.0)  # MindSpore convention: moving = batch
    fused = BatchNormReLU(bn)  # no ReLU
    fused.set_train(True)
    y = fused(ms.Tensor(x)).asnumpy()
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2, 3)), x64.var(axis=(0, 2, 3))
    expected = (x64 - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    assert np.abs(y - expected).max() <= 2e-3  # float32 x itself is only exact to 6e-5
    count = x[:, 0].size
    assert np.allclose(bn.moving_mean.asnumpy(), mean, rtol=1e-6)
    assert np.allclose(bn.moving_variance.asnumpy(), var * count / (count - 1), rtol=1e-3)


def test_relu_kept_in_activate_and_restored():
    """VGG's ConvModule keeps its ReLU in ``activate``; unfusing gives back the
    same BatchNorm cell and a ReLU where it was."""
    block = _block(8, relu_name='activate')
    bn = block.bn
    assert use_fused_bn_relu(block) == 1 and isinstance(block.activate, nn.Identity)
    assert unfuse_bn_relu(block) == 1
    assert block.bn is bn and isinstance(block.activate, nn.ReLU)
    assert use_fused_bn_relu(block) == 1  # and again


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
def test_folding_for_inference_keeps_the_relu(mode):
    """fuse_conv_bn (the inference fast path) splits the pair first: the ReLU must
    survive the fold."""
    ms.set_context(mode=mode)
    x = ms.Tensor(np.random.default_rng(2).standard_normal((2, 8, 10, 10)), ms.float32)
    block = _block(8)
    use_fused_bn_relu(block)
    block.set_train(True)
    block(x)  # move the running statistics
    block.set_train(False)
    expected = block(x).asnumpy()
    assert fuse_conv_bn(block) == 1
    assert isinstance(block.bn, nn.Identity) and isinstance(block.relu, nn.ReLU)
    got = block(x).asnumpy()
    assert got.min() == 0 and np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_unsupported_batch_norms_are_left_alone():
    assert supports(nn.BatchNorm2d(4)) == ''
    assert supports(nn.BatchNorm2d(4, use_batch_statistics=True)) == 'use_batch_statistics=True'
    assert 'not a plain nn.BatchNorm2d' in supports(nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match='use_batch_statistics'):
        BatchNormReLU(nn.BatchNorm2d(4, use_batch_statistics=False))
    no_relu = nn.SequentialCell([nn.BatchNorm2d(4)])
    assert use_fused_bn_relu(no_relu) == 0


def test_checkpoint_of_a_fused_model_loads_into_a_plain_one(tmp_path):
    """Trained with the fused op, evaluated without it (or the other way round)."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    x = ms.Tensor(np.random.default_rng(3).normal(1.0, 2.0, (2, 8, 10, 10)), ms.float32)
    fused = _block(8)
    use_fused_bn_relu(fused)
    fused.set_train(True)
    fused(x)  # the running statistics move
    ms.save_checkpoint(fused, str(tmp_path / 'fused.ckpt'))
    plain = _ConvBlock(8)
    not_loaded, unused = ms.load_param_into_net(plain, ms.load_checkpoint(str(tmp_path /
                                                                             'fused.ckpt')))
    assert not_loaded == [] and unused == []
    fused.set_train(False)
    plain.set_train(False)
    assert np.abs(plain(x).asnumpy() - fused(x).asnumpy()).max() <= 1e-6


PROFILE_SCRIPT = """
import numpy as np, mindspore as ms, mmcls_ms
from mmcls_ms.ops.batch_norm_relu import use_fused_bn_relu
from mmcls_ms.ops.conv2d import use_onednn_convs
import sys; sys.path.insert(0, {tests!r})
from test_batch_norm_relu import _block
block = _block(8)
use_fused_bn_relu(block); use_onednn_convs(block)
block.set_train(True)
x = ms.Tensor(np.random.default_rng(0).standard_normal((2, 8, 12, 12)), ms.float32)
ms.grad(lambda inputs: block(inputs).sum())(x).asnumpy()
"""


def test_profile_reports_kernel_time_and_cores(tmp_path):
    """MMCLS_MS_ONEDNN_PROFILE=1: at exit, one line per kernel kind that ran, with
    its calls, seconds and the cores in use meanwhile; the fused BN is counted."""
    import os
    import os.path as osp
    import re
    import subprocess
    import sys
    tests = osp.dirname(osp.abspath(__file__))
    script = tmp_path / 'profile.py'
    script.write_text(PROFILE_SCRIPT.format(tests=tests))
    env = dict(os.environ, MMCLS_MS_ONEDNN_PROFILE='1',
               PYTHONPATH=osp.dirname(osp.dirname(tests)))
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = {m.group(1): m for m in re.finditer(
        r'\[mmcls_ms cpu kernels\] (\w+)\s+(\d+) calls\s+([\d.]+) s\s+([\d.]+) cores', run.stderr)}
    assert {'forward', 'backward_data', 'backward_weights', 'batch_norm_relu'} <= set(lines)
    assert lines['batch_norm_relu'].group(2) == '2'  # one forward, one backward
    # (cores = process CPU time / wall time: meaningful over long runs, not for these
    # microsecond kernels)
    assert all(float(m.group(3)) >= 0 and float(m.group(4)) >= 0 for m in lines.values())


def test_recipes_and_flop_counts_see_the_fused_batch_norm():
    """paramwise_cfg's norm_decay_mult must still find the BN parameters, and the
    FLOP counter must count the same work, with the backend's fused BN in place."""
    from mmcls_ms.engine.optimizers.builder import norm_param_names
    from mmcls_ms.models.utils.complexity import count_complexity
    ms.set_context(mode=ms.PYNATIVE_MODE)
    block = _block(8)
    block.set_train(False)
    names, flops = norm_param_names(block), count_complexity(block, (1, 8, 6, 6)).total_flops
    assert names == {'bn.gamma', 'bn.beta', 'bn.moving_mean', 'bn.moving_variance'}
    use_fused_bn_relu(block)
    block.set_train(False)
    assert norm_param_names(block) == names
    assert count_complexity(block, (1, 8, 6, 6)).total_flops == flops
