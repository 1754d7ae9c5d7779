"""Same weights, same outputs as torchvision (needs torch; skipped without).

Run with a Python that has torch and torchvision:
``python -m pytest -m parity tests/test_models``.
"""
import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import VGG, InceptionV3
from mmcls_ms.weights.converters import vgg_feature_indices

pytestmark = pytest.mark.parity
torch = pytest.importorskip('torch')
torchvision = pytest.importorskip('torchvision')

BN_NAMES = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
            'moving_variance': 'running_var'}


def _randomise_bn_stats(net, rng):
    for param in net.get_parameters():
        if param.name.endswith('moving_mean'):
            param.set_data(ms.Tensor(rng.standard_normal(param.shape).astype(np.float32) * 0.1))
        elif param.name.endswith('moving_variance'):
            param.set_data(ms.Tensor(rng.random(param.shape).astype(np.float32) + 0.5))


def _to_torchvision_state(net, vgg=None):
    """The naming rule of mmcls_ms/models/backbones/__init__.py, backwards."""
    index_map = {}
    if vgg is not None:
        index_map = dict(vgg_feature_indices(*vgg))
    state = {}
    for param in net.get_parameters():
        parts = param.name.split('.')
        parts[-1] = BN_NAMES.get(parts[-1], parts[-1])
        if parts[0] == 'features':
            tv_index = index_map[int(parts[1])] + (1 if parts[2] == 'bn' else 0)
            parts = ['features', str(tv_index), parts[-1]]
        state['.'.join(parts)] = torch.from_numpy(param.asnumpy().copy())
    return state


def _compare(ours, theirs, x, ms_out_index=-1):
    out = ours(ms.Tensor(x))[ms_out_index].asnumpy()
    with torch.no_grad():
        ref = theirs(torch.from_numpy(x))
    ref = (ref[0] if isinstance(ref, tuple) else ref).numpy()
    diff = np.abs(out - ref).max()
    assert diff <= 1e-4 * max(1.0, np.abs(ref).max()), diff


def test_inception_v3_matches_torchvision():
    rng = np.random.default_rng(0)
    ms.set_seed(0)
    ours = InceptionV3(num_classes=1000, aux_logits=True)
    _randomise_bn_stats(ours, rng)
    ours.set_train(False)
    theirs = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False,
                                             transform_input=False)
    missing, unexpected = theirs.load_state_dict(_to_torchvision_state(ours), strict=False)
    assert [k for k in missing if 'num_batches_tracked' not in k] == [] and unexpected == []
    theirs.eval()
    _compare(ours, theirs, rng.standard_normal((1, 3, 299, 299)).astype(np.float32))


@pytest.mark.parametrize('depth,with_bn,size', [(11, True, 224), (13, False, 64)])
def test_vgg_matches_torchvision(depth, with_bn, size):
    """224 with mmpretrain's layout; 64 with ``adaptive_pool=True`` (torchvision's)."""
    rng = np.random.default_rng(1)
    ms.set_seed(1)
    ours = VGG(depth=depth, num_classes=1000, norm_cfg=dict(type='BN') if with_bn else None,
               adaptive_pool=size != 224)
    _randomise_bn_stats(ours, rng)
    ours.set_train(False)
    name = f'vgg{depth}_bn' if with_bn else f'vgg{depth}'
    theirs = getattr(torchvision.models, name)(weights=None)
    missing, unexpected = theirs.load_state_dict(
        _to_torchvision_state(ours, (depth, with_bn)), strict=False)
    assert [k for k in missing if 'num_batches_tracked' not in k] == [] and unexpected == []
    theirs.eval()
    _compare(ours, theirs, rng.standard_normal((1, 3, size, size)).astype(np.float32))


def test_training_mode_bn_statistics_match_torch():
    rng = np.random.default_rng(2)
    ours = VGG(depth=11, num_classes=-1, num_stages=2, norm_cfg=dict(type='BN', momentum=0.1))
    theirs = torchvision.models.vgg11_bn(weights=None).features[:8]  # 2 stages
    state = {k[len('features.'):]: v for k, v in
             _to_torchvision_state(ours, (11, True)).items()}
    theirs.load_state_dict(state, strict=False)
    ours.set_train(True)
    theirs.train()
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    _compare(ours, theirs, x)
    np.testing.assert_allclose(ours.features[2].bn.moving_mean.asnumpy(),
                               theirs[5].running_mean.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.features[2].bn.moving_variance.asnumpy(),
                               theirs[5].running_var.numpy(), rtol=1e-4, atol=1e-6)
