"""get_model(name, pretrained=True): download, verify, convert, cache, load.

A real HTTP server on 127.0.0.1 serves an mmpretrain-layout ``.pth`` (written
without torch) and a MindCV-layout ``.ckpt``; the published URLs are mapped to
it with ``$MMCLS_MS_URL_MAPPING``.  The models are small test entries
registered with ``register_model_index``.
"""
import hashlib
import os

import numpy as np
import pytest

from pth_writer import write_pth

from mmcls_ms.apis import get_model, list_models, register_model_index
from mmcls_ms.apis.model_index import ModelHub
from mmcls_ms.weights.converters import vgg_feature_indices
from mmcls_ms.weights.download import ChecksumError, DownloadError

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_BN = os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py')
TINY_MINDCV = os.path.join(HERE, 'data', 'tiny_vgg11_mindcv_gap.py')
OPENMMLAB = 'https://download.openmmlab.com/mmclassification/v0/test/'
MINDCV = 'https://download.mindspore.cn/toolkits/mindcv/test/'
CLASSES = [f'class_{i}' for i in range(10)]
MS_TO_TORCH_BN = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
                  'moving_variance': 'running_var'}


def mmpretrain_state(seed=0):
    """Random weights for TINY_BN in mmpretrain's (PyTorch) names, and the
    same in mmcls_ms names."""
    model = get_model(TINY_BN)
    rng = np.random.default_rng(seed)
    ours, theirs = {}, {}
    for name, param in model.parameters_and_names():
        value = rng.standard_normal(param.shape).astype(np.float32)
        if name.endswith('moving_variance'):
            value = np.abs(value) + 0.5
        ours[name] = value
        prefix, leaf = name.rsplit('.', 1)
        theirs[f'{prefix}.{MS_TO_TORCH_BN.get(leaf, leaf)}'] = value
        if leaf == 'moving_mean':
            theirs[f'{prefix}.num_batches_tracked'] = np.array(100, np.int64)
    return ours, theirs


def mindcv_state(seed=1):
    """MindCV VGG-11 features (convs without bias) plus training state."""
    rng = np.random.default_rng(seed)
    channels = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512),
                (512, 512), (512, 512)]
    state, ours = {}, {}
    for (mm, tv), (cin, cout) in zip(vgg_feature_indices(11, False), channels):
        w = (rng.standard_normal((cout, cin, 3, 3)) * 0.05).astype(np.float32)
        state[f'features.{tv}.weight'] = w
        ours[f'backbone.features.{mm}.conv.weight'] = w
    state['moments.features.0.weight'] = np.zeros_like(state['features.0.weight'])
    state['global_step'] = np.array([1000], np.int32)
    return state, ours


def write_metafile(tmp_path, entries):
    lines = ['Models:']
    for name, weights, config in entries:
        lines += [f'  - Name: {name}', '    Results:', '      - Task: Image Classification',
                  '        Dataset: ImageNet-1k', '        Metrics:',
                  '          Top 1 Accuracy: 1.0', f'    Weights: {weights}',
                  f'    Config: {config}']
    path = tmp_path / 'metafile.yml'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture
def zoo(tmp_path, cache_home, file_server, monkeypatch):
    """Serve both files, register entries for them, map the URLs to the server."""
    ours_pth, theirs = mmpretrain_state()
    pth_path = tmp_path / 'upload.pth'
    write_pth(str(pth_path), {'state_dict': theirs, 'meta': {
        'dataset_meta': {'classes': CLASSES}, 'mmpretrain_version': '1.2.0'}})
    pth_bytes = pth_path.read_bytes()
    pth_name = f'tiny-vgg11bn_20240101-{hashlib.sha256(pth_bytes).hexdigest()[:8]}.pth'

    import mindspore as ms
    mindcv_src, ours_ckpt = mindcv_state()
    ckpt_path = tmp_path / 'upload.ckpt'
    ms.save_checkpoint([{'name': k, 'data': ms.Tensor(v)} for k, v in mindcv_src.items()],
                       str(ckpt_path))
    ckpt_bytes = ckpt_path.read_bytes()
    ckpt_name = f'tiny_vgg11-{hashlib.sha256(ckpt_bytes).hexdigest()[:8]}.ckpt'

    file_server.add('/openmmlab/' + pth_name, pth_bytes)
    file_server.add('/mindcv/' + ckpt_name, ckpt_bytes)
    file_server.add('/openmmlab/tiny-vgg11bn_20240101-00000000.pth', pth_bytes)
    file_server.add('/openmmlab/tiny-vgg11bn_corrupt.pth', b'PK\x03\x04' + os.urandom(2000))
    monkeypatch.setenv('MMCLS_MS_URL_MAPPING', ';'.join([
        f'^https://download\\.openmmlab\\.com/mmclassification/v0/test/=>'
        f'{file_server.base_url}/openmmlab/',
        f'^https://download\\.mindspore\\.cn/toolkits/mindcv/test/=>'
        f'{file_server.base_url}/mindcv/']))
    names = register_model_index(write_metafile(tmp_path, [
        ('tiny-vgg11bn_test', OPENMMLAB + pth_name, TINY_BN),
        ('tiny-vgg11_mindcv-test', MINDCV + ckpt_name, TINY_MINDCV),
        ('tiny-vgg11bn_badhash-test', OPENMMLAB + 'tiny-vgg11bn_20240101-00000000.pth', TINY_BN),
        ('tiny-vgg11bn_404-test', OPENMMLAB + 'tiny-vgg11bn_20240101-0badf00d.pth', TINY_BN),
        ('tiny-vgg11bn_garbage-test', OPENMMLAB + 'tiny-vgg11bn_corrupt.pth', TINY_BN),
    ]))
    yield dict(server=file_server, pth_name=pth_name, ckpt_name=ckpt_name,
               ours_pth=ours_pth, ours_ckpt=ours_ckpt, cache=cache_home / 'checkpoints')
    for name in names:
        ModelHub.unregister(name)


def params_of(model):
    return {n: p.asnumpy() for n, p in model.parameters_and_names()}


def test_registered_entries_are_listed(zoo):
    assert 'tiny-vgg11bn_test' in list_models('tiny')
    assert list_models('tiny-vgg11bn', exclude_patterns=['*-test']) == ['tiny-vgg11bn_test']


def test_pth_is_downloaded_verified_converted_and_cached(zoo):
    server, cache = zoo['server'], zoo['cache']
    model = get_model('tiny-vgg11bn_test', pretrained=True)
    assert server.requests['/openmmlab/' + zoo['pth_name']] == 1
    loaded = params_of(model)
    for name, value in zoo['ours_pth'].items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)
    assert model._dataset_meta['classes'] == CLASSES  # from the checkpoint's meta
    assert model._metainfo.name == 'tiny-vgg11bn_test'
    raw = cache / zoo['pth_name']
    converted, = (cache / 'converted').glob(os.path.splitext(zoo['pth_name'])[0] + '-*.ckpt')
    assert raw.is_file()
    written = converted.stat().st_mtime_ns

    # second call: the converted cache (no request, no conversion)
    again = get_model('tiny-vgg11bn_test', pretrained=True)
    assert server.requests['/openmmlab/' + zoo['pth_name']] == 1
    assert converted.stat().st_mtime_ns == written
    np.testing.assert_array_equal(params_of(again)['head.fc.weight'],
                                  zoo['ours_pth']['head.fc.weight'])


def test_mindcv_ckpt_is_downloaded_verified_converted_and_cached(zoo):
    server, cache = zoo['server'], zoo['cache']
    model = get_model('tiny-vgg11_mindcv-test', pretrained=True)
    assert server.requests['/mindcv/' + zoo['ckpt_name']] == 1
    loaded = params_of(model)
    for name, value in zoo['ours_ckpt'].items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)
        # MindCV convolutions have no bias: converted as zeros
        assert not loaded[name.replace('.weight', '.bias')].any()
    assert list((cache / 'converted').glob(os.path.splitext(zoo['ckpt_name'])[0] + '-*.ckpt'))
    get_model('tiny-vgg11_mindcv-test', pretrained=True)
    assert server.requests['/mindcv/' + zoo['ckpt_name']] == 1


def test_kwargs_merge_into_model_with_pretrained(zoo):
    # a 5-class head: the 10-class fc is skipped (shape mismatch), the rest loads
    with pytest.warns(UserWarning, match='head.fc.weight'):
        model = get_model('tiny-vgg11bn_test', pretrained=True, head=dict(num_classes=5))
    loaded = params_of(model)
    assert loaded['head.fc.weight'].shape == (5, 512)
    np.testing.assert_array_equal(loaded['backbone.features.0.conv.weight'],
                                  zoo['ours_pth']['backbone.features.0.conv.weight'])


def assert_cache_empty(cache):
    # the remembered hashes (sha256-index.json) are bookkeeping, not a cached file
    leftovers = [os.path.join(root, f) for root, _, files in os.walk(cache) for f in files
                 if f != 'sha256-index.json'] if cache.exists() else []
    assert leftovers == []


def test_hash_mismatch(zoo):
    with pytest.raises(ChecksumError, match='00000000'):
        get_model('tiny-vgg11bn_badhash-test', pretrained=True)
    assert_cache_empty(zoo['cache'])


def test_corrupted_download(zoo):
    zoo['server'].modes['/openmmlab/' + zoo['pth_name']] = 'corrupt'
    with pytest.raises(ChecksumError, match='corrupted'):
        get_model('tiny-vgg11bn_test', pretrained=True)
    assert_cache_empty(zoo['cache'])


def test_unreadable_download_without_hash(zoo):
    # no hash in the name: the file is caught when it cannot be read
    with pytest.raises(DownloadError, match='not a readable checkpoint'):
        get_model('tiny-vgg11bn_garbage-test', pretrained=True)
    assert_cache_empty(zoo['cache'])


def test_http_404(zoo):
    with pytest.raises(DownloadError, match='HTTP 404') as info:
        get_model('tiny-vgg11bn_404-test', pretrained=True)
    assert 'tiny-vgg11bn_20240101-0badf00d.pth' in str(info.value)
    assert 'MMCLS_MS_MIRROR' in str(info.value)
    assert_cache_empty(zoo['cache'])


def test_mirror_argument_beats_the_mapping(zoo, tmp_path):
    mirror = tmp_path / 'intranet'
    mirror.mkdir()
    served = zoo['server'].files['/openmmlab/' + zoo['pth_name']]
    (mirror / zoo['pth_name']).write_bytes(served)
    model = get_model('tiny-vgg11bn_test', pretrained=True, mirror=str(mirror))
    assert zoo['server'].requests['/openmmlab/' + zoo['pth_name']] == 0
    np.testing.assert_array_equal(params_of(model)['head.fc.bias'],
                                  zoo['ours_pth']['head.fc.bias'])


def test_local_pth_path_is_converted(zoo, tmp_path):
    _, theirs = mmpretrain_state(seed=3)
    path = write_pth(str(tmp_path / 'finetuned.pth'), {'state_dict': theirs})
    model = get_model(TINY_BN, pretrained=path)
    ours, _ = mmpretrain_state(seed=3)
    np.testing.assert_array_equal(params_of(model)['backbone.features.2.bn.gamma'],
                                  ours['backbone.features.2.bn.gamma'])
