"""init_cfg: Pretrained (prefix, every weight format, URLs) and the other
mmengine init types are honoured; what cannot be is refused, never ignored."""
import os
import sys

import numpy as np
import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TESTS, 'test_apis'))
from http_server import LocalFileServer  # noqa: E402
from pth_writer import write_pth  # noqa: E402

from mmcls_ms.models.utils.weight_init import InitConfigError, init_weights  # noqa: E402
from mmcls_ms.registry import MODELS  # noqa: E402
from mmcls_ms.utils import register_all_modules  # noqa: E402
from mmcls_ms.weights.checkpoint import CheckpointError, save_checkpoint  # noqa: E402

register_all_modules()
MS_TO_TORCH_BN = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
                  'moving_variance': 'running_var'}


def classifier(backbone_init=None, init_cfg=None, norm_cfg=dict(type='BN'), stages=2, **kw):
    """The digits quickstart model (VGG-11 features, GAP, linear head); the
    first two stages only unless ``stages=5`` (what the converters need)."""
    return MODELS.build(dict(
        type='ImageClassifier', init_cfg=init_cfg,
        backbone=dict(type='VGG', depth=11, num_classes=-1, norm_cfg=norm_cfg,
                      num_stages=stages, init_cfg=backbone_init),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=512 if stages == 5 else 128),
        **kw))


def params(model):
    return {n: p.asnumpy().copy() for n, p in model.parameters_and_names()}


def randomize(model, seed):
    import mindspore as ms
    rng = np.random.default_rng(seed)
    for _, p in model.parameters_and_names():
        p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32) * 0.1 + 0.5))
    return params(model)


@pytest.fixture(scope='module')
def source():
    """A trained-looking classifier and its weights."""
    model = classifier()
    weights = randomize(model, seed=7)
    return model, weights


def assert_backbone_from(model, weights, head_too=False):
    loaded = params(model)
    for name, value in weights.items():
        if name.startswith('backbone.') or head_too:
            np.testing.assert_array_equal(loaded[name], value, err_msg=name)
    same_head = np.array_equal(loaded['head.fc.weight'], weights['head.fc.weight'])
    assert same_head == head_too


@pytest.mark.parametrize('fmt', ['ckpt', 'safetensors'])
def test_pretrained_with_prefix_on_the_backbone(tmp_path, source, fmt):
    src_model, weights = source
    path = save_checkpoint(src_model, str(tmp_path / f'src.{fmt}'), meta=dict(epoch=1))
    model = classifier(backbone_init=dict(type='Pretrained', checkpoint=path,
                                          prefix='backbone'))
    assert not np.array_equal(params(model)['backbone.features.0.conv.weight'],
                              weights['backbone.features.0.conv.weight'])
    init_weights(model)
    assert_backbone_from(model, weights)


@pytest.mark.slow
def test_pretrained_mmpretrain_pth_with_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    src_model = classifier(stages=5)
    weights = randomize(src_model, seed=5)
    torch_names = {}
    for name, value in weights.items():
        prefix, leaf = name.rsplit('.', 1)
        torch_names[f'{prefix}.{MS_TO_TORCH_BN.get(leaf, leaf)}'] = value
    path = write_pth(str(tmp_path / 'src.pth'), {'state_dict': torch_names})
    model = classifier(stages=5, backbone_init=dict(type='Pretrained', checkpoint=path,
                                                    prefix='backbone'))
    init_weights(model)
    assert_backbone_from(model, weights)


def test_pretrained_mindcv_ckpt_through_a_url(tmp_path, monkeypatch):
    """A MindCV VGG-11 (no BN, convs without bias) served over HTTP."""
    import mindspore as ms

    from mmcls_ms.weights.converters import vgg_feature_indices
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    rng = np.random.default_rng(3)
    channels = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512),
                (512, 512), (512, 512)]
    mindcv, ours = {}, {}
    for (mm, tv), (cin, cout) in zip(vgg_feature_indices(11, False), channels):
        w = (rng.standard_normal((cout, cin, 3, 3)) * 0.05).astype(np.float32)
        mindcv[f'features.{tv}.weight'] = w
        ours[f'backbone.features.{mm}.conv.weight'] = w
    path = tmp_path / 'vgg11-mindcv.ckpt'
    ms.save_checkpoint([{'name': k, 'data': ms.Tensor(v)} for k, v in mindcv.items()],
                       str(path))
    with LocalFileServer() as server:
        server.add('/vgg11-mindcv.ckpt', path.read_bytes())
        model = classifier(norm_cfg=None, stages=5, backbone_init=dict(
            type='Pretrained', checkpoint=server.url('/vgg11-mindcv.ckpt'), prefix='backbone'))
        init_weights(model)
    loaded = params(model)
    for name, value in ours.items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_pretrained_on_the_classifier_and_the_deprecated_pretrained_arg(tmp_path, source):
    src_model, weights = source
    path = save_checkpoint(src_model, str(tmp_path / 'whole.ckpt'), meta=dict(epoch=1))
    for model in (classifier(init_cfg=dict(type='Pretrained', checkpoint=path)),
                  classifier(pretrained=path)):
        init_weights(model)
        assert_backbone_from(model, weights, head_too=True)

    # prefix='backbone' on the classifier strips the names the classifier needs:
    # mmengine loads nothing there; here it is an error that says where to put it
    model = classifier(init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone'))
    with pytest.raises(CheckpointError, match="model.backbone with prefix='backbone'"):
        init_weights(model)
    model = classifier(backbone_init=dict(type='Pretrained', checkpoint=path, prefix='neck'))
    with pytest.raises(CheckpointError, match="no parameters under prefix 'neck'"):
        init_weights(model)


def test_pretrained_is_applied_after_the_parts_own_inits(tmp_path, source):
    src_model, weights = source
    path = save_checkpoint(src_model, str(tmp_path / 'whole.ckpt'), meta=dict(epoch=1))
    model = classifier(
        init_cfg=[dict(type='Pretrained', checkpoint=path),
                  dict(type='Constant', layer='Linear', val=3.0)],
        backbone_init=dict(type='Constant', layer='Conv2d', val=2.0))
    init_weights(model)
    assert_backbone_from(model, weights, head_too=True)  # Pretrained last: it wins


def test_other_init_types_with_layer_and_override():
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='VGG', depth=11, num_classes=-1, num_stages=2,
                      norm_cfg=dict(type='BN'), init_cfg=[
                          dict(type='Kaiming', layer='Conv2d', mode='fan_in', bias=0.5),
                          dict(type='Constant', layer='_BatchNorm', val=0.25, bias=-1.0)]),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=500, in_channels=128,
                  init_cfg=dict(type='TruncNormal', layer='Linear', std=0.5, a=-0.2, b=0.2,
                                override=dict(name='fc', type='Xavier',
                                              distribution='uniform', gain=1.0)))))
    init_weights(model)
    p = params(model)
    conv = p['backbone.features.2.conv.weight']  # 64 -> 128, fan_in 576
    assert conv.std() == pytest.approx(np.sqrt(2.0 / 576), rel=0.05)
    assert np.all(p['backbone.features.2.conv.bias'] == 0.5)
    assert np.all(p['backbone.features.0.bn.gamma'] == 0.25)
    assert np.all(p['backbone.features.0.bn.beta'] == -1.0)
    fc = p['head.fc.weight']  # the override: Xavier uniform over (500, 128)
    bound = np.sqrt(6.0 / (500 + 128))
    assert 0.09 < np.abs(fc).max() <= bound  # not the TruncNormal in [-0.2, 0.2] before it
    assert fc.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)

    normal = MODELS.build(dict(type='LinearClsHead', num_classes=400, in_channels=300,
                               init_cfg=dict(type='Normal', layer='Linear', std=0.02,
                                             mean=1.0)))
    init_weights(normal)
    assert params(normal)['fc.weight'].std() == pytest.approx(0.02, rel=0.05)
    assert params(normal)['fc.weight'].mean() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize('init_cfg, match', [
    (dict(type='Orthogonal', layer='Conv2d'), "type 'Orthogonal' is not supported"),
    (dict(type='Normal', layer='Conv2d', sdt=0.1), r"unknown argument\(s\) \['sdt'\]"),
    (dict(type='Normal', std=0.1), 'neither layer= nor override='),
    (dict(type='Kaiming', layer='Conv2D'), "layer='Conv2D' is not a layer kind"),
    (dict(type='Pretrained'), 'Pretrained takes checkpoint='),
])
def test_unknown_or_unusable_init_is_refused_when_built(init_cfg, match):
    with pytest.raises(InitConfigError, match=match) as err:
        MODELS.build(dict(type='VGG', depth=11, num_stages=1, init_cfg=init_cfg))
    assert str(err.value).startswith('VGG: ')


def test_override_of_a_missing_part_is_refused():
    model = MODELS.build(dict(type='VGG', depth=11, num_stages=1, init_cfg=dict(
        type='Normal', std=0.1, override=dict(name='classifer'))))
    with pytest.raises(InitConfigError, match="override name='classifer'"):
        init_weights(model)
