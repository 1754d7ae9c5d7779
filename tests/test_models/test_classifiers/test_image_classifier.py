import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from mmcls_ms.registry import MODELS

VGG_GAP = dict(
    type='ImageClassifier',
    backbone=dict(type='VGG', depth=11, num_classes=-1, norm_cfg=dict(type='BN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512),
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True))
INCEPTION_GAP = dict(
    type='ImageClassifier',
    backbone=dict(type='InceptionV3', num_classes=-1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=2048),
    data_preprocessor=dict(mean=[128.0] * 3, std=[64.0] * 3))


def _build(cfg, seed=0):
    ms.set_seed(seed)
    return MODELS.build(cfg)


def test_entry_points_shapes(images):
    model = _build(VGG_GAP)
    model.set_train(False)
    x = images(2, 32)
    assert model(x).shape == (2, 10)
    assert model.extract_feat(x, stage='backbone')[-1].shape == (2, 512, 1, 1)
    assert model.extract_feat(x)[-1].shape == (2, 512)
    assert model.extract_feat(x, stage='pre_logits').shape == (2, 512)
    scores, labels = model.predict(x)
    assert scores.shape == (2, 10) and labels.shape == (2,) and labels.dtype == ms.int32
    np.testing.assert_allclose(scores.asnumpy().sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(labels.asnumpy(), model(x).asnumpy().argmax(axis=1))
    loss = model.loss(x, ms.Tensor([1, 2], ms.int32))
    assert loss.shape == () and float(loss) > 0
    with pytest.raises(ValueError, match='stage'):
        model.extract_feat(x, stage='head')


def test_parameter_prefixes():
    model = _build(VGG_GAP)
    names = [p.name for p in model.get_parameters()]
    assert 'backbone.features.0.conv.weight' in names
    assert 'backbone.features.0.bn.gamma' in names
    assert names[-2:] == ['head.fc.weight', 'head.fc.bias']
    assert not any(n.startswith('data_preprocessor') for n in names)


@pytest.mark.parametrize('cfg,size', [
    (VGG_GAP, 32), pytest.param(INCEPTION_GAP, 75, marks=pytest.mark.slow)],
    ids=['vgg11bn-gap', 'inception-gap'])
def test_jit_matches_pynative(cfg, size, images):
    model = _build(cfg)
    model.set_train(False)
    x = images(2, size)
    labels = ms.Tensor([3, 7], ms.int32)
    logits = model(x).asnumpy()
    scores = model.predict(x)[0].asnumpy()
    feats = model.extract_feat(x, stage='pre_logits').asnumpy()

    def predict_fn(inputs):
        return model.predict(inputs)

    def feat_fn(inputs):
        return model.extract_feat(inputs, stage='pre_logits')

    np.testing.assert_allclose(ms.jit(model.construct)(x).asnumpy(), logits,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ms.jit(predict_fn)(x)[0].asnumpy(), scores, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ms.jit(feat_fn)(x).asnumpy(), feats, rtol=1e-4, atol=1e-5)

    # training mode (batch statistics); the heads here have no dropout
    model.set_train(True)
    loss = float(model.loss(x, labels))

    def loss_fn(inputs, targets):
        return model.loss(inputs, targets)

    assert float(ms.jit(loss_fn)(x, labels)) == pytest.approx(loss, rel=1e-4)


def test_inception_jit_forward_matches_pynative(images):
    model = _build(INCEPTION_GAP)
    model.set_train(False)
    x = images(1, 75)
    np.testing.assert_allclose(ms.jit(model.construct)(x).asnumpy(), model(x).asnumpy(),
                               rtol=1e-4, atol=1e-5)


def test_graph_mode_context_matches_pynative(images, graph_mode):
    model = _build(VGG_GAP)
    model.set_train(False)
    x = images(1, 32)
    graph_out = model(x).asnumpy()
    ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(model(x).asnumpy(), graph_out, rtol=1e-4, atol=1e-5)


def test_compiled_training_steps_reduce_the_loss(images):
    model = _build(VGG_GAP)
    model.set_train(True)
    x = images(4, 32)
    labels = ms.Tensor([0, 1, 2, 3], ms.int32)
    optimizer = nn.Momentum(model.trainable_params(), learning_rate=0.01, momentum=0.9)

    def loss_fn(inputs, targets):
        return model.loss(inputs, targets)

    grad_fn = ms.value_and_grad(loss_fn, None, optimizer.parameters)

    @ms.jit
    def train_step(inputs, targets):
        loss, grads = grad_fn(inputs, targets)
        optimizer(grads)
        return loss

    losses = [float(train_step(x, labels)) for _ in range(8)]
    assert losses[-1] < 0.7 * losses[0], losses


def test_inception_aux_loss_enters_training_loss(images):
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='InceptionV3', num_classes=5, aux_logits=True, dropout=0.0),
               head=dict(type='ClsHead', aux_loss_weight=0.1),
               data_preprocessor=dict(mean=[128.0] * 3, std=[64.0] * 3))
    model = _build(cfg)
    x = images(2, 299)
    labels = ms.Tensor([1, 4], ms.int32)
    model.set_train(True)
    aux, logits = model.extract_feat(x)
    ce = model.head.loss_module
    expected = float(ce(logits, labels)) + 0.1 * float(ce(aux, labels))
    assert float(model.loss(x, labels)) == pytest.approx(expected, rel=1e-4)
    model.set_train(False)
    assert model(x).shape == (2, 5)


def test_clear_errors():
    with pytest.raises(ValueError, match="Mixup alpha"):
        MODELS.build(dict(VGG_GAP, train_cfg=dict(augments=[dict(type='Mixup', alpha=0.0)])))
    with pytest.raises(TypeError, match='backbone'):
        MODELS.build(dict(type='ImageClassifier', backbone='VGG'))


@pytest.mark.slow
def test_inception_aux_training_step_compiles(images):
    """Graph mode: the aux branch runs only in training and enters the loss."""
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='InceptionV3', num_classes=5, aux_logits=True, dropout=0.0),
               head=dict(type='ClsHead', aux_loss_weight=0.1),
               data_preprocessor=dict(mean=[128.0] * 3, std=[64.0] * 3))
    model = _build(cfg)
    x = images(1, 299)
    labels = ms.Tensor([2], ms.int32)
    model.set_train(True)

    def loss_fn(inputs, targets):
        return model.loss(inputs, targets)

    expected = float(model.loss(x, labels))
    assert float(ms.jit(loss_fn)(x, labels)) == pytest.approx(expected, rel=1e-4)
