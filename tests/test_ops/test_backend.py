"""mmcls_ms.ops.backend: the oneDNN backend is applied in one place, to every model
built, and whole models computed with it equal MindSpore's own kernels.

The parity bound is the project's: max|diff| <= 1e-4 x max(1, max|logit|).
"""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.engine.optimizers import SGD
from mmcls_ms.engine.runner.train_step import TrainStep
from mmcls_ms.ops.backend import apply_backend, backend_in_use, use_stock_cells
from mmcls_ms.ops.cpu_backend import select_conv_backend
from mmcls_ms.ops.kernel_library import loaded_library
from mmcls_ms.registry import MODELS
from mmcls_ms.utils.cells import stock_type

VGG16_BN = dict(type='ImageClassifier',
                backbone=dict(type='VGG', depth=16, norm_cfg=dict(type='BN'), num_classes=-1),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10, in_channels=512))
INCEPTION_V3 = dict(type='ImageClassifier', backbone=dict(type='InceptionV3', num_classes=-1),
                    neck=dict(type='GlobalAveragePooling'),
                    head=dict(type='LinearClsHead', num_classes=10, in_channels=2048))


@pytest.fixture(autouse=True)
def pynative_and_default_backend():
    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    select_conv_backend('auto')
    ms.set_context(mode=mode)


def _backend_cells(model):
    return sum(stock_type(cell) is not type(cell) for _, cell in model.cells_and_names())


def _pair(cfg):
    """The same model (same weights) built with MindSpore's kernels and by default;
    the weights are drawn from a fixed seed, whatever ran before in this process."""
    ms.set_seed(0)
    select_conv_backend('mindspore')
    stock = MODELS.build(cfg)
    select_conv_backend('auto')
    fast = MODELS.build(cfg)
    stock_params = {p.name: p for p in stock.get_parameters()}
    for param in fast.get_parameters():
        param.set_data(stock_params[param.name].value().copy())
    return stock, fast


def test_models_get_the_backend_by_default_however_built():
    assert backend_in_use() == 'onednn'  # x86-64 Linux with g++: on without a setting
    model = MODELS.build(VGG16_BN)  # (the Runner and get_model build through it too)
    counts = {}
    for _, cell in model.cells_and_names():
        if stock_type(cell) is not type(cell):
            counts[stock_type(cell).__name__] = counts.get(stock_type(cell).__name__, 0) + 1
    assert counts == {'Conv2d': 13, 'MaxPool2d': 5, 'BatchNorm2d': 13}
    assert apply_backend(model) == 0  # already applied: idempotent
    # a backbone built on its own gets it too; a config can turn it off
    assert _backend_cells(MODELS.build(VGG16_BN['backbone'])) == 31
    select_conv_backend('mindspore')
    assert _backend_cells(MODELS.build(VGG16_BN)) == 0


def test_stock_cells_come_back_with_the_same_parameters():
    model = MODELS.build(VGG16_BN)
    params = {p.name: p for p in model.get_parameters()}
    assert use_stock_cells(model) == 13 + 5 + 13
    assert _backend_cells(model) == 0
    assert {p.name: p for p in model.get_parameters()} == params  # same objects, same names
    assert isinstance(model.backbone.features[0].conv, nn.Conv2d)


def _batch(size):
    rng = np.random.default_rng(0)
    images = ms.Tensor(rng.standard_normal((4, 3, size, size)).astype(np.float32))
    return images, ms.Tensor(rng.integers(0, 10, 4).astype(np.int32))


@pytest.mark.parametrize('cfg, size', [(VGG16_BN, 32), (INCEPTION_V3, 75)],
                         ids=['vgg16_bn', 'inception_v3'])
def test_whole_model_logits_equal_mindspore_kernels(cfg, size):
    stock, fast = _pair(cfg)
    assert _backend_cells(fast) > 0 and _backend_cells(stock) == 0
    images, _ = _batch(size)
    for model in (stock, fast):
        model.set_train(False)
    ref = stock(images).asnumpy()
    got = fast(images).asnumpy()
    assert np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())


def _one_training_step(cfg, size):
    """Each parameter before and after one step (SGD with momentum and weight decay,
    BN on batch statistics): MindSpore's kernels, then the default engine."""
    stock, fast = _pair(cfg)
    images, labels = _batch(size)
    before = {p.name: p.asnumpy().copy() for p in stock.get_parameters()}
    after = []
    for model in (stock, fast):
        model.set_train(True)
        step = TrainStep(model, SGD(model.trainable_params(), lr=0.01, momentum=0.9,
                                    weight_decay=1e-4))
        step(images, labels)
        after.append({p.name: p.asnumpy().copy() for p in model.get_parameters()})
    return before, after


def test_vgg16_bn_training_step_equals_mindspore_kernels():
    """Each parameter's update (a running statistic's new value) agrees to 1e-3
    relative.  The biases of convolutions followed by BN are left out: their
    true gradient is zero, so both engines move them by rounding noise only."""
    before, (ref, got) = _one_training_step(VGG16_BN, 32)
    for name, start in before.items():
        if name.endswith('conv.bias'):
            assert np.abs(got[name] - ref[name]).max() <= 1e-6, name
            continue
        ref_update, got_update = ref[name] - start, got[name] - start
        if name.endswith(('moving_mean', 'moving_variance')):
            ref_update, got_update = ref[name], got[name]
        scale = max(np.linalg.norm(ref_update), 1e-12)
        assert np.linalg.norm(got_update - ref_update) <= 1e-3 * scale, name
    # the side pools (BN, optimizer) and the convolutions' pool shared the cores
    lib = loaded_library()
    assert 0 < lib.kernels_peak_helpers() <= lib.kernels_num_threads() - 1


@pytest.mark.slow
def test_inception_v3_training_step_matches_mindspore_kernels():
    """InceptionV3 at its smallest input is chaotic in training mode: its last BNs
    normalise 4 values per channel, and an input change of 1e-6 (relative) moves
    the stock model's gradients by up to 6%.  So each parameter's update (not its
    value) is compared, to 10%: a wrong backward pass is off by far more."""
    before, (ref, got) = _one_training_step(INCEPTION_V3, 75)
    for name, start in before.items():
        ref_update, got_update = ref[name] - start, got[name] - start
        if name.endswith(('moving_mean', 'moving_variance')):
            ref_update, got_update = ref[name], got[name]
        scale = max(np.linalg.norm(ref_update), 1e-12)
        assert np.linalg.norm(got_update - ref_update) <= 0.1 * scale, name
