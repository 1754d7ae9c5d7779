"""Every config under configs/ builds a model that runs (generic: new configs
are picked up by the glob)."""
import glob
import os

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(
    os.path.relpath(path, REPO_ROOT)
    for path in glob.glob(os.path.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if f'{os.sep}_base_{os.sep}' not in path)


def _model_cfg(path, cfg_options=None):
    from mmcls_ms.utils.config import load_config
    cfg = load_config(os.path.join(REPO_ROOT, path), cfg_options)
    if 'model' not in cfg:
        return None
    model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    # as the runner does: the top-level data_preprocessor goes into the model
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', dict(cfg.data_preprocessor))
    return model


def _has_fixed_size_classifier(backbone):
    return (backbone.get('type') == 'VGG' and backbone.get('num_classes', -1) > 0
            and not backbone.get('adaptive_pool', False))


def _input_size(model_cfg):
    """The smallest input the model needs: 224 for VGG's fixed classifier,
    75 for InceptionV3 (its minimum), 32 otherwise."""
    backbone = model_cfg.get('backbone', {})
    if _has_fixed_size_classifier(backbone):
        return 224
    if backbone.get('type') == 'InceptionV3':
        return 75
    return 32


def _num_classes(model_cfg):
    head = model_cfg.get('head') or {}
    if head.get('num_classes'):
        return head['num_classes']
    return model_cfg['backbone'].get('num_classes')


def _params():
    """Configs with a 124M-weight VGG classifier are slow to build and run at
    224: the first one runs by default, the others with `-m slow`."""
    params, heavy_seen = [], False
    for path in CONFIGS:
        model = _model_cfg(path)
        heavy = model is not None and _has_fixed_size_classifier(model.get('backbone', {}))
        marks = [pytest.mark.slow] if heavy and heavy_seen else []
        heavy_seen = heavy_seen or heavy
        params.append(pytest.param(path, marks=marks, id=path))
    return params


def test_configs_found():
    assert any('inception' in c for c in CONFIGS) and any('vgg' in c for c in CONFIGS)


@pytest.mark.parametrize('path', _params())
def test_config_builds_and_runs(path):
    import mindspore as ms

    from mmcls_ms.registry import MODELS
    model_cfg = _model_cfg(path)
    if model_cfg is None:
        pytest.skip(f'{path} has no model')
    model = MODELS.build(model_cfg)
    model.set_train(False)
    size = _input_size(model_cfg)
    x = ms.Tensor(np.random.default_rng(0).integers(0, 256, (1, 3, size, size), dtype=np.uint8))
    logits = model(x)
    assert logits.shape == (1, _num_classes(model_cfg))
    assert np.isfinite(logits.asnumpy()).all()
    scores, labels = model.predict(x)
    assert scores.shape == logits.shape and labels.shape == (1,)


def test_cfg_options_reach_the_built_model():
    import mindspore as ms

    from mmcls_ms.registry import MODELS
    path = 'configs/vgg/vgg11bn-gap_1xb32_digits.py'
    if path not in CONFIGS:
        pytest.skip(f'{path} is not in this checkout')
    model = MODELS.build(_model_cfg(path, ['model.backbone.depth=13', 'model.head.num_classes=7',
                                           'model.backbone.norm_cfg.momentum=0.01']))
    convs = {p.name.split('.')[2] for p in model.get_parameters() if p.name.endswith('conv.weight')}
    assert len(convs) == 10  # VGG-13
    assert model.head.fc.weight.shape == (7, 512)
    assert float(model.backbone.features[0].bn.momentum) == pytest.approx(0.01)
    model.set_train(False)
    assert model(ms.Tensor(np.zeros((1, 3, 32, 32), np.uint8))).shape == (1, 7)


def test_cfg_options_depth_on_in1k_config():
    cfg = _model_cfg('configs/vgg/vgg11_8xb32_in1k.py', ['model.backbone.depth=13'])
    assert cfg['backbone']['depth'] == 13


def test_malformed_override_names_the_item():
    from mmcls_ms.utils.config import ConfigOverrideError
    with pytest.raises(ConfigOverrideError, match='model.backbone.depth'):
        _model_cfg('configs/vgg/vgg11_8xb32_in1k.py', ['model.backbone.depth'])
