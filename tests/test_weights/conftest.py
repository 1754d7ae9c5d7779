"""Helpers shared by the checkpoint, converter and parity tests."""
import os
import types

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# configs/_base_/models file of each converter model name
BASE_MODEL_CONFIGS = {'inception_v3': 'inception_v3.py'}
BASE_MODEL_CONFIGS.update({f'vgg{d}': f'vgg{d}.py' for d in (11, 13, 16, 19)})
BASE_MODEL_CONFIGS.update({f'vgg{d}_bn': f'vgg{d}bn.py' for d in (11, 13, 16, 19)})


def build_model(name, backbone=None, **model_overrides):
    """Build the mmcls_ms classifier of ``name`` from configs/_base_/models/*.py."""
    from mmengine.config import Config

    from mmcls_ms.registry import MODELS
    cfg = Config.fromfile(
        os.path.join(REPO_ROOT, 'configs', '_base_', 'models', BASE_MODEL_CONFIGS[name])).model
    cfg.backbone.update(backbone or {})
    cfg.update(model_overrides)
    model = MODELS.build(cfg)
    model.set_train(False)
    return model


def forward(model, inputs):
    import mindspore as ms
    return model(ms.Tensor(inputs)).asnumpy()


def assert_logits_close(ours, ref, rtol=1e-4):
    """The parity bound: max |diff| <= rtol * max(1, max |logit|)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    diff = float(np.abs(ours - ref).max())
    bound = rtol * max(1.0, float(np.abs(ref).max()))
    assert diff <= bound, f'max |diff| {diff:.3e} > bound {bound:.3e}'
    return diff


@pytest.fixture(scope='session')
def helpers():
    """``build_model``, ``forward``, ``assert_logits_close`` and ``repo_root``
    (fixtures, because test folders here are not packages)."""
    return types.SimpleNamespace(build_model=build_model, forward=forward,
                                 assert_logits_close=assert_logits_close,
                                 repo_root=REPO_ROOT)
