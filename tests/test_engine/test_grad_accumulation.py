"""Gradient accumulation (``optim_wrapper.accumulative_counts``): the group
bookkeeping follows mmengine, and in the compiled step 4 x batch 8 with
accumulation 4 trains like 1 x batch 32, with clipping and a loss scale."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import Tensor, nn

from mmcls_ms.engine.optimizers import SGD
from mmcls_ms.engine.optimizers.optim_wrapper import OptimWrapper
from mmcls_ms.engine.runner.train_step import AccumulatingTrainStep, TrainStep
from mmcls_ms.models import CrossEntropyLoss, ImageClassifier


def mmengine_schedule(max_counts, n):
    """mmengine's OptimWrapper bookkeeping, written out: (divisor, steps) per
    iteration, counting from 0 over the whole training."""
    out = []
    remainder = max_counts % n
    for count in range(max_counts):
        divisor = n if count < max_counts - remainder else remainder
        after = count + 1
        out.append((divisor, after % n == 0 or after == max_counts))
    return out


@pytest.mark.parametrize('max_counts,n', [(20, 3), (12, 4), (7, 1), (5, 8)])
def test_counts_follow_mmengine(max_counts, n):
    wrapper = OptimWrapper(None, accumulative_counts=n)
    wrapper.initialize_count_status(max_counts)
    got = [(wrapper.loss_factor(c), wrapper.should_update(c)) for c in range(max_counts)]
    assert got == mmengine_schedule(max_counts, n)


@pytest.mark.parametrize('bad', [0, -2, 1.5, '4', True])
def test_bad_count_is_refused_naming_the_key(bad):
    with pytest.raises(ValueError, match='optim_wrapper.accumulative_counts'):
        OptimWrapper(None, accumulative_counts=bad)


def tiny_vgg():
    """VGG-11 without BN on 32x32 inputs: nothing in it depends on the batch size."""
    ms.set_seed(0)
    return ImageClassifier(
        backbone=dict(type='VGG', depth=11, num_classes=-1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512),
        data_preprocessor=dict(mean=[127.5] * 3, std=[64.0] * 3))


class TinyLinear(nn.Cell):
    """A linear classifier on the same images: the fast variant."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.fc = nn.Dense(3 * 32 * 32, 10, bias_init='zeros', weight_init=Tensor(
            rng.standard_normal((10, 3 * 32 * 32)).astype(np.float32) * 0.01))
        self.ce = CrossEntropyLoss()

    def loss(self, inputs, labels):
        x = (inputs.astype(ms.float32) - 127.5) / 64.0
        return self.ce(self.fc(x.reshape(x.shape[0], -1)), labels)


MODELS = [pytest.param(TinyLinear, id='linear'),
          pytest.param(tiny_vgg, id='vgg11', marks=pytest.mark.slow)]


def weights(model):
    return {p.name: p.asnumpy().copy() for p in model.trainable_params()}


def make_step(step_cls, model):
    # a static loss scale of 128 (AmpOptimWrapper's path on CPU) and a clip that bites
    return step_cls(model, SGD(model.trainable_params(), lr=0.05, momentum=0.9,
                               weight_decay=1e-3),
                    max_norm=0.5, loss_scale=128.0, skip_nonfinite=True)


@pytest.mark.parametrize('build', MODELS)
def test_accumulated_micro_batches_train_like_one_big_batch(build):
    ms.set_context(mode=ms.GRAPH_MODE)
    rng = np.random.default_rng(0)
    # 6 micro-batches of 8 with N=4 over a 6-iteration training: a group of 4,
    # then the last, incomplete group of 2, divided by 2 (mmengine)
    images = rng.integers(0, 256, (48, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, 48).astype(np.int32)

    big = build()
    start = weights(big)
    step = make_step(TrainStep, big)
    for lo, hi in ((0, 32), (32, 48)):
        loss, finite = step(Tensor(images[lo:hi]), Tensor(labels[lo:hi]))
        assert bool(finite.asnumpy())
    want = weights(big)

    small = build()
    assert all(np.array_equal(start[k], v) for k, v in weights(small).items())
    wrapper = OptimWrapper(None, accumulative_counts=4)
    wrapper.initialize_count_status(6)
    step = make_step(AccumulatingTrainStep, small)
    for count in range(6):
        sl = slice(8 * count, 8 * count + 8)
        loss, finite = step(Tensor(images[sl]), Tensor(labels[sl]),
                            Tensor(np.float32(wrapper.loss_factor(count))),
                            Tensor(wrapper.should_update(count)))
        assert bool(finite.asnumpy())
        if count == 0:  # no update inside a group
            assert all(np.array_equal(start[k], v) for k, v in weights(small).items())
    got = weights(small)
    moved = max(np.abs(want[k] - start[k]).max() for k in want)
    assert moved > 1e-3  # the two steps did change the weights
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)
    # the buffers are cleared after the last update
    assert all(not p.asnumpy().any() for p in step.accum_grads)
