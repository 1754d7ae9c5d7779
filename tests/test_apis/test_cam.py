"""Grad-CAM / Grad-CAM++ (mmcls_ms.apis.cam) and tools/visualization/vis_cam.py."""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.apis.cam import _layer_cam, compute_cam, default_target_layers
from mmcls_ms.models import ImageClassifier

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
TINY_BN = osp.join(HERE, 'data', 'tiny_vgg11bn_gap.py')
TOOL = osp.join(REPO, 'tools', 'visualization', 'vis_cam.py')
LAYER = 'backbone.features.2'  # the last conv module: its map goes to the average pool


@pytest.fixture(scope='module')
def tiny():
    ms.set_seed(0)  # weights from a fixed seed, whatever ran before in this process
    model = ImageClassifier(
        backbone=dict(type='VGG', depth=11, num_classes=-1, num_stages=2, with_last_pool=False,
                      norm_cfg=dict(type='BN')),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=128))
    model.set_train(False)
    inputs = np.random.default_rng(0).integers(0, 256, (1, 3, 16, 16)).astype(np.uint8)
    activations = model.extract_feat(ms.Tensor(inputs), stage='backbone')[-1].asnumpy()[0]
    return model, inputs, activations.astype(np.float64)


def numpy_cam(activations, weights_row, method):
    """The formula with the gradient of a linear head after an average pool:
    dy_c/dA_kij = W_ck / (H W), the same at every position."""
    k, h, w = activations.shape
    g = np.broadcast_to((weights_row / (h * w))[:, None, None], activations.shape)
    if method == 'gradcam':
        weights = g.mean(axis=(1, 2))
    else:
        denominator = 2 * g ** 2 + activations.sum(axis=(1, 2))[:, None, None] * g ** 3
        alpha = np.where(g != 0, g ** 2 / denominator, 0)
        weights = (np.maximum(g, 0) * alpha).sum(axis=(1, 2))
    return np.maximum((weights[:, None, None] * activations).sum(axis=0), 0)


@pytest.mark.parametrize('method', ['gradcam', 'gradcam++'])
def test_cam_of_a_tiny_network_is_the_formula(tiny, method):
    model, inputs, activations = tiny
    layer = dict(model.cells_and_names())[LAYER]
    weight = model.head.fc.weight.asnumpy().astype(np.float64)
    for category in (1, 4):
        expected = numpy_cam(activations, weight[category], method)
        assert expected.max() > 0
        cam = _layer_cam(model, inputs, layer, [category], method)
        np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-7 * expected.max())
    # the public map: scaled to [0, 1] at the input size; two categories sum
    both = numpy_cam(activations, weight[1] + weight[4], method)
    full = compute_cam(model, inputs, [LAYER], [1, 4], method.upper())
    assert full.shape == (16, 16) and full.min() == 0 and full.max() == pytest.approx(1, 1e-6)
    scaled = (both - both.min()) / (both.max() - both.min())
    upsampled = cv2.resize(scaled.astype(np.float32), (16, 16))  # bilinear, as pytorch-grad-cam
    upsampled = (upsampled - upsampled.min()) / (upsampled.max() - upsampled.min())
    np.testing.assert_allclose(full, upsampled, atol=1e-4)


def test_default_layers_and_errors(tiny):
    model, inputs, _ = tiny
    assert default_target_layers(model) == [LAYER]
    with pytest.raises(ValueError, match='no layer of the model'):
        compute_cam(model, inputs, ['backbone.features.99'])
    with pytest.raises(ValueError, match='out of range'):
        compute_cam(model, inputs, [LAYER], [5])
    with pytest.raises(ValueError, match='GradCAM or GradCAM\\+\\+'):
        compute_cam(model, inputs, [LAYER], method='EigenCAM')


def test_vis_cam_tool(tmp_path, capsys):
    from mmcls_ms.apis import get_model
    from mmcls_ms.weights.checkpoint import save_checkpoint
    spec = importlib.util.spec_from_file_location('vis_cam', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    checkpoint = save_checkpoint(get_model(TINY_BN), str(tmp_path / 'tiny.ckpt'))
    image = osp.join(REPO, 'demo', 'bird.JPEG')
    out = tmp_path / 'cam.png'
    cam = tool.main([image, TINY_BN, checkpoint, '--save-path', str(out),
                     '--method', 'GradCAM++', '--target-category', '3'])
    assert cam.shape == (32, 32) and 0 <= cam.min() and cam.max() <= 1
    picture = cv2.imread(str(out))
    assert picture.shape == (32, 32, 3)
    assert "backbone.features.11" in capsys.readouterr().out
    tool.main([image, TINY_BN, checkpoint, '--preview-model'])
    assert 'backbone.features.11: ConvModule' in capsys.readouterr().out
    with pytest.raises(ValueError, match='--aug-smooth is not supported'):
        tool.main([image, TINY_BN, checkpoint, '--aug-smooth'])


@pytest.mark.slow  # trains a small VGG for 160 steps: a few minutes on 2 cores
def test_cam_finds_digits_in_their_corner():
    """Digits always sit in the top-left 20x20 of a 40x40 black canvas: a model
    trained on them must look there, whatever the class."""
    from mmcls_ms.engine.optimizers import SGD
    from mmcls_ms.engine.runner.train_step import TrainStep
    data = np.load(osp.join(REPO, 'mmcls_ms', 'data', 'digits.npz'))
    rng = np.random.default_rng(0)

    def place(img):
        canvas = np.zeros((40, 40), np.uint8)
        y, x = rng.integers(0, 5, 2)
        canvas[y:y + 16, x:x + 16] = np.kron(img * 15, np.ones((2, 2), np.uint8))
        return np.repeat(canvas[None], 3, 0)

    images = np.stack([place(i) for i in data['images']])
    labels = data['labels'].astype(np.int32)
    model = ImageClassifier(
        backbone=dict(type='VGG', depth=11, num_classes=-1, num_stages=3, with_last_pool=False,
                      norm_cfg=dict(type='BN')),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=256),
        data_preprocessor=dict(mean=[40.] * 3, std=[80.] * 3))
    step = TrainStep(model, SGD(model.trainable_params(), lr=0.05, momentum=0.9))
    ms.set_context(mode=ms.GRAPH_MODE)
    model.set_train(True)
    for _ in range(160):
        pick = rng.integers(0, len(images), 32)
        step(ms.Tensor(images[pick]), ms.Tensor(labels[pick]))
    model.set_train(False)
    held_out = slice(1500, 1540)
    predicted = model.predict(ms.Tensor(images[held_out]))[1].asnumpy()
    assert (predicted == labels[held_out]).mean() > 0.5  # it learned the digits
    for i in range(1500, 1510):
        cam = compute_cam(model, images[i:i + 1], default_target_layers(model))
        row, col = divmod(int(cam.argmax()), 40)
        assert row < 20 and col < 20, (i, row, col)
