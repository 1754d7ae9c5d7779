"""TrainStep: one graph per step; with ``skip_nonfinite`` (the default under
loss scaling) a step with non-finite gradients changes nothing (SGD, AdamW,
RMSprop); in fp32 the update is unchecked and the loss says whether it was
finite; the loss scale's bookkeeping; one compile."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import Tensor, nn

from mmcls_ms.engine.optimizers import SGD, AdamW, RMSprop
from mmcls_ms.engine.runner.train_step import TrainStep

MODES = [ms.PYNATIVE_MODE, ms.GRAPH_MODE]


class LinearClassifier(nn.Cell):
    """The smallest model with the classifier's ``loss(inputs, labels)``."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.fc = nn.Dense(4, 3, weight_init=Tensor(rng.standard_normal((3, 4), np.float32)),
                           bias_init='zeros')
        self.ce = nn.CrossEntropyLoss()

    def loss(self, inputs, labels):
        return self.ce(self.fc(inputs), labels)


def batch(scale=1.0):
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((5, 4)).astype(np.float32) * scale
    return Tensor(inputs), Tensor(np.array([0, 1, 2, 1, 0], np.int32))


def numpy_step(weight, bias, inputs, labels, lr, momentum):
    """One SGD-with-momentum step from zero momentum, in float64."""
    logits = inputs @ weight.T + bias
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1
    dlogits = probs / len(labels)
    grad_w, grad_b = dlogits.T @ inputs, dlogits.sum(0)
    return weight - lr * grad_w, bias - lr * grad_b  # buf = grad after one step


def snapshot(cells):
    return {p.name: p.asnumpy().copy() for cell in cells for p in cell.get_parameters()}


@pytest.mark.parametrize('mode', MODES)
def test_finite_step_updates_like_sgd(mode):
    ms.set_context(mode=mode)
    model = LinearClassifier()
    weight, bias = model.fc.weight.asnumpy().copy(), model.fc.bias.asnumpy().copy()
    step = TrainStep(model, SGD(model.trainable_params(), lr=0.5, momentum=0.9))
    inputs, labels = batch()
    loss, finite = step(inputs, labels)
    assert bool(finite.asnumpy()) and np.isfinite(loss.asnumpy())
    want_w, want_b = numpy_step(weight.astype(np.float64), bias.astype(np.float64),
                                inputs.asnumpy().astype(np.float64), labels.asnumpy(), 0.5, 0.9)
    np.testing.assert_allclose(model.fc.weight.asnumpy(), want_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.fc.bias.asnumpy(), want_b, rtol=1e-5, atol=1e-6)


OPTIMIZERS = {
    'sgd': lambda params: SGD(params, lr=0.5, momentum=0.9, weight_decay=1e-2),
    'nesterov': lambda params: SGD(params, lr=0.5, momentum=0.9, nesterov=True),
    'adamw': lambda params: AdamW(params, lr=0.1, weight_decay=1e-2),
    'rmsprop': lambda params: RMSprop(params, lr=0.1, momentum=0.9, centered=True,
                                      weight_decay=1e-2),
}


def with_nan(inputs):
    bad = inputs.asnumpy().copy()  # asnumpy() can be a view of the tensor
    bad[2, 1] = np.inf
    return Tensor(bad)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('opt_name', sorted(OPTIMIZERS))
def test_non_finite_gradients_change_nothing(mode, opt_name):
    """Neither the parameters nor any optimizer state (moments, step count)."""
    ms.set_context(mode=mode)
    model = LinearClassifier()
    step = TrainStep(model, OPTIMIZERS[opt_name](model.trainable_params()),
                     skip_nonfinite=True)
    inputs, labels = batch()
    step(inputs, labels)                # a real step first: the states are non-zero
    before = snapshot([model, step.optimizer])
    loss, finite = step(with_nan(inputs), labels)
    assert not bool(finite.asnumpy())
    after = snapshot([model, step.optimizer])
    assert before.keys() == after.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.mark.parametrize('mode', MODES)
def test_fp32_step_is_unchecked_and_reports_the_loss(mode):
    """Without loss scaling there is no check in the graph (MindSpore's
    TrainOneStepCell, mmengine's OptimWrapper): the update happens and the
    returned flag is the loss's finiteness, which stops the runner."""
    ms.set_context(mode=mode)
    model = LinearClassifier()
    step = TrainStep(model, SGD(model.trainable_params(), lr=0.5, momentum=0.9))
    assert not step.skip_nonfinite
    inputs, labels = batch()
    loss, finite = step(with_nan(inputs), labels)
    assert not bool(finite.asnumpy()) and not np.isfinite(loss.asnumpy())
    assert not np.isfinite(model.fc.weight.asnumpy()).all()


def test_loss_scaling_checks_by_default():
    model = LinearClassifier()
    assert TrainStep(model, SGD(model.trainable_params(), lr=0.1),
                     loss_scale=128.0).skip_nonfinite
    with pytest.raises(ValueError, match='dynamic loss scale needs skip_nonfinite=True'):
        TrainStep(model, SGD(model.trainable_params(), lr=0.1), dynamic_scale=True,
                  skip_nonfinite=False)


@pytest.mark.parametrize('opt_name', sorted(OPTIMIZERS))
def test_skipped_first_step_leaves_a_fresh_optimizer(opt_name):
    """A non-finite first step is skipped entirely (AdamW's step count included);
    the next step equals a fresh optimizer's first step."""
    ms.set_context(mode=ms.GRAPH_MODE)
    inputs, labels = batch()
    results = []
    for skip_first in (True, False):
        model = LinearClassifier()
        step = TrainStep(model, OPTIMIZERS[opt_name](model.trainable_params()),
                         skip_nonfinite=True)
        if skip_first:
            assert not bool(step(with_nan(inputs), labels)[1].asnumpy())
        step(inputs, labels)
        results.append(snapshot([model, step.optimizer]))
    for name, value in results[1].items():
        np.testing.assert_array_equal(results[0][name], value, err_msg=name)


@pytest.mark.parametrize('mode', MODES)
def test_dynamic_loss_scale_backs_off_and_grows(mode):
    ms.set_context(mode=mode)
    model = LinearClassifier()
    step = TrainStep(model, SGD(model.trainable_params(), lr=0.1), loss_scale=8.0,
                     dynamic_scale=True, growth_interval=2)
    inputs, labels = batch()
    bad = with_nan(inputs)
    step(bad, labels)
    assert float(step.loss_scale.asnumpy()) == 4.0
    assert int(step.good_steps.asnumpy()) == 0
    step(inputs, labels)
    assert int(step.good_steps.asnumpy()) == 1
    step(inputs, labels)                # the second finite step in a row: grow
    assert float(step.loss_scale.asnumpy()) == 8.0
    assert int(step.good_steps.asnumpy()) == 0
    for _ in range(5):                  # never below 1
        step(bad, labels)
    assert float(step.loss_scale.asnumpy()) == 1.0


def test_scaled_gradients_are_unscaled():
    """A static loss scale of 1024 gives the same update as no scaling."""
    ms.set_context(mode=ms.GRAPH_MODE)
    results = []
    for scale in (1.0, 1024.0):
        model = LinearClassifier()
        step = TrainStep(model, SGD(model.trainable_params(), lr=0.5), loss_scale=scale)
        step(*batch())
        results.append(model.fc.weight.asnumpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)


def test_the_step_compiles_once():
    """One graph for the whole step, compiled once for a fixed input shape."""
    ms.set_context(mode=ms.GRAPH_MODE)
    model = LinearClassifier()
    step = TrainStep(model, SGD(model.trainable_params(), lr=0.1, momentum=0.9))
    for scale in (1.0, 0.5, 2.0):
        step(*batch(scale))
    assert len(step.compile_cache) == 1


def test_clip_by_global_norm():
    ms.set_context(mode=ms.GRAPH_MODE)
    model = LinearClassifier()
    start = model.fc.weight.asnumpy().copy(), model.fc.bias.asnumpy().copy()
    step = TrainStep(model, SGD(model.trainable_params(), lr=1.0), max_norm=1e-3)
    step(*batch(10.0))
    moved = np.sqrt(((model.fc.weight.asnumpy() - start[0]) ** 2).sum() +
                    ((model.fc.bias.asnumpy() - start[1]) ** 2).sum())
    assert moved == pytest.approx(1e-3, rel=1e-3)
