"""Key mappings and the converter tool, without torch (synthetic state dicts)."""
import os
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

from mmcls_ms.weights.checkpoint import (load_checkpoint, read_checkpoint, read_checkpoint_meta,
                                       save_state_dict)
from mmcls_ms.weights.converters import (MODELS, canonical_model_name, convert_checkpoint,
                                       convert_state_dict, detect_model, detect_source_format,
                                       model_entries, vgg_feature_indices)

# The index tables of mmpretrain's tools/model_converters/vgg_to_mmpretrain.py,
# written out here so the generated ones are checked against an independent source.
TV_CONV_NO_BN = {
    11: [0, 3, 6, 8, 11, 13, 16, 18],
    13: [0, 2, 5, 7, 10, 12, 15, 17, 20, 22],
    16: [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    19: [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]}
TV_CONV_BN = {
    11: [0, 4, 8, 11, 15, 18, 22, 25],
    13: [0, 3, 7, 10, 14, 17, 21, 24, 28, 31],
    16: [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40],
    19: [0, 3, 7, 10, 14, 17, 20, 23, 27, 30, 33, 36, 40, 43, 46, 49]}
MM_CONV = {
    11: [0, 2, 4, 5, 7, 8, 10, 11],
    13: [0, 1, 3, 4, 6, 7, 9, 10, 12, 13],
    16: [0, 1, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16],
    19: [0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]}
VGG_CHANNELS = {11: [64, 128, 256, 256, 512, 512, 512, 512],
                13: [64, 64, 128, 128, 256, 256, 512, 512, 512, 512],
                16: [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512],
                19: [64, 64, 128, 128] + [256] * 4 + [512] * 8}


@pytest.mark.parametrize('depth', [11, 13, 16, 19])
def test_vgg_indices_match_reference_tables(depth):
    assert [mm for mm, _ in vgg_feature_indices(depth, False)] == MM_CONV[depth]
    assert [tv for _, tv in vgg_feature_indices(depth, False)] == TV_CONV_NO_BN[depth]
    assert [mm for mm, _ in vgg_feature_indices(depth, True)] == MM_CONV[depth]
    assert [tv for _, tv in vgg_feature_indices(depth, True)] == TV_CONV_BN[depth]


def synthetic_vgg(depth, bn, layout, rng, num_classes=5, hidden=8):
    """A VGG state dict in a source layout, built from the reference tables.

    Tiny channel counts keep it light; the converter only renames."""
    state = {}
    tv_idx = (TV_CONV_BN if bn else TV_CONV_NO_BN)[depth]
    c_in = 3
    for tv, mm, c_out in zip(tv_idx, MM_CONV[depth], VGG_CHANNELS[depth]):
        c_out = c_out // 32
        w = rng.normal(size=(c_out, c_in, 3, 3)).astype(np.float32)
        b = rng.normal(size=c_out).astype(np.float32)
        bn_vals = [rng.normal(size=c_out).astype(np.float32) for _ in range(3)]
        bn_vals.append(rng.uniform(0.5, 2, c_out).astype(np.float32))
        if layout == 'torchvision':
            state[f'features.{tv}.weight'], state[f'features.{tv}.bias'] = w, b
            if bn:
                for n, v in zip(('weight', 'bias', 'running_mean', 'running_var'), bn_vals):
                    state[f'features.{tv + 1}.{n}'] = v
                state[f'features.{tv + 1}.num_batches_tracked'] = np.array(7, np.int64)
        elif layout == 'mmpretrain':
            state[f'backbone.features.{mm}.conv.weight'] = w
            state[f'backbone.features.{mm}.conv.bias'] = b
            if bn:
                for n, v in zip(('weight', 'bias', 'running_mean', 'running_var'), bn_vals):
                    state[f'backbone.features.{mm}.bn.{n}'] = v
                state[f'backbone.features.{mm}.bn.num_batches_tracked'] = np.array(7, np.int64)
        else:  # mindcv: no conv bias, MindSpore BN names
            state[f'features.{tv}.weight'] = w
            if bn:
                for n, v in zip(('gamma', 'beta', 'moving_mean', 'moving_variance'), bn_vals):
                    state[f'features.{tv + 1}.{n}'] = v
        c_in = c_out
    prefix = 'backbone.' if layout == 'mmpretrain' else ''
    dims = [(hidden, c_in * 49), (hidden, hidden), (num_classes, hidden)]
    for i, shape in zip((0, 3, 6), dims):
        state[f'{prefix}classifier.{i}.weight'] = rng.normal(size=shape).astype(np.float32)
        state[f'{prefix}classifier.{i}.bias'] = rng.normal(size=shape[0]).astype(np.float32)
    return state


@pytest.mark.parametrize('layout', ['torchvision', 'mmpretrain', 'mindcv'])
@pytest.mark.parametrize('depth', [11, 13, 16, 19])
@pytest.mark.parametrize('bn', [False, True])
def test_vgg_mapping(layout, depth, bn):
    rng = np.random.default_rng(depth)
    src = synthetic_vgg(depth, bn, layout, rng)
    out, meta = convert_state_dict(src)
    name = f'vgg{depth}' + ('_bn' if bn else '')
    assert meta['model'] == name and meta['converted_from']['format'] == layout
    assert set(out) == {e.target for e in model_entries(name)}
    assert meta['conversion']['missing'] == 0
    tv_idx = (TV_CONV_BN if bn else TV_CONV_NO_BN)[depth]
    for tv, mm in zip(tv_idx, MM_CONV[depth]):
        conv = f'backbone.features.{mm}.conv'
        if layout == 'mmpretrain':
            np.testing.assert_array_equal(out[f'{conv}.weight'], src[f'{conv}.weight'])
            np.testing.assert_array_equal(out[f'{conv}.bias'], src[f'{conv}.bias'])
        else:
            np.testing.assert_array_equal(out[f'{conv}.weight'], src[f'features.{tv}.weight'])
            if layout == 'mindcv':  # MindCV convs have no bias
                assert not out[f'{conv}.bias'].any()
                assert out[f'{conv}.bias'].shape == (src[f'features.{tv}.weight'].shape[0], )
            else:
                np.testing.assert_array_equal(out[f'{conv}.bias'], src[f'features.{tv}.bias'])
        if bn:
            pairs = zip(('gamma', 'beta', 'moving_mean', 'moving_variance'),
                        ('weight', 'bias', 'running_mean', 'running_var'))
            for ms_name, torch_name in pairs:
                source = {'torchvision': f'features.{tv + 1}.{torch_name}',
                          'mmpretrain': f'backbone.features.{mm}.bn.{torch_name}',
                          'mindcv': f'features.{tv + 1}.{ms_name}'}[layout]
                np.testing.assert_array_equal(out[f'backbone.features.{mm}.bn.{ms_name}'],
                                              src[source])
    prefix = 'backbone.' if layout == 'mmpretrain' else ''
    np.testing.assert_array_equal(out['backbone.classifier.6.weight'],
                                  src[f'{prefix}classifier.6.weight'])
    assert not any('num_batches_tracked' in k for k in out)


def synthetic_inception(layout, rng, aux=True):
    """Key names from the architecture tables; tiny tensors (only names matter here)."""
    state = {}
    for e in model_entries('inception_v3'):
        if e.optional and not aux:
            continue
        name = e.sources[layout]
        state[name] = rng.normal(size=3).astype(np.float32)
        if layout != 'mindcv' and name.endswith('bn.running_var'):
            state[name.replace('running_var', 'num_batches_tracked')] = np.array(1, np.int64)
    return state


@pytest.mark.parametrize('layout', ['torchvision', 'mmpretrain', 'mindcv'])
def test_inception_mapping_and_overrides(layout):
    src = synthetic_inception(layout, np.random.default_rng(0))
    out, meta = convert_state_dict(src)
    assert meta['model'] == 'inception_v3' and meta['conversion']['missing'] == 0
    assert len(out) == 484
    if layout == 'mindcv':
        assert meta['model_overrides'] == {'backbone': {'pool_count_include_pad': False}}
        pairs = [('conv1a.conv.weight', 'backbone.Conv2d_1a_3x3.conv.weight'),
                 ('inception5b.branch1.1.bn.gamma', 'backbone.Mixed_5b.branch5x5_2.bn.gamma'),
                 ('inception6e.branch2.4.bn.moving_variance',
                  'backbone.Mixed_6e.branch7x7dbl_5.bn.moving_variance'),
                 ('inception7a.branch1.3.conv.weight',
                  'backbone.Mixed_7a.branch7x7x3_4.conv.weight'),
                 ('inception7c.branch2b.bn.beta', 'backbone.Mixed_7c.branch3x3dbl_3b.bn.beta'),
                 ('aux.conv1.conv.weight', 'backbone.AuxLogits.conv1.conv.weight'),
                 ('aux.fc.weight', 'backbone.AuxLogits.fc.weight'),
                 ('classifier.bias', 'backbone.fc.bias')]
    else:
        assert 'model_overrides' not in meta
        p = 'backbone.' if layout == 'mmpretrain' else ''
        pairs = [(f'{p}Mixed_7c.branch3x3dbl_3b.bn.running_var',
                  'backbone.Mixed_7c.branch3x3dbl_3b.bn.moving_variance'),
                 (f'{p}AuxLogits.fc.weight', 'backbone.AuxLogits.fc.weight'),
                 (f'{p}fc.weight', 'backbone.fc.weight')]
    for src_key, dst_key in pairs:
        np.testing.assert_array_equal(out[dst_key], src[src_key])


def test_inception_without_aux_is_complete():
    src = synthetic_inception('torchvision', np.random.default_rng(0), aux=False)
    out, meta = convert_state_dict(src)
    assert meta['conversion']['missing'] == 0
    assert not any('AuxLogits' in k for k in out)


def test_detection_and_errors():
    rng = np.random.default_rng(0)
    assert detect_source_format(synthetic_vgg(16, True, 'mindcv', rng)) == 'mindcv'
    assert detect_source_format(synthetic_vgg(16, False, 'mindcv', rng)) == 'mindcv'
    assert detect_source_format(synthetic_vgg(16, False, 'torchvision', rng)) == 'torchvision'
    tv = synthetic_vgg(13, True, 'torchvision', rng)
    assert detect_model(tv, 'torchvision') == 'vgg13_bn'
    # DataParallel prefixes and MindCV training state are handled.
    wrapped = {'module.' + k: v for k, v in tv.items()}
    assert convert_state_dict(wrapped)[1]['model'] == 'vgg13_bn'
    mindcv = synthetic_vgg(19, False, 'mindcv', rng)
    mindcv.update({'moments.features.0.weight': np.zeros(1, np.float32),
                   'global_step': np.zeros(1, np.int32), 'learning_rate': np.zeros(1)})
    out, meta = convert_state_dict(mindcv)
    assert meta['model'] == 'vgg19' and meta['conversion']['dropped'] == 3
    with pytest.raises(ValueError, match='look like'):
        convert_state_dict(tv, model='vgg16_bn')
    with pytest.raises(ValueError, match='Cannot tell'):
        convert_state_dict({'foo.weight': np.zeros(1)})
    with pytest.raises(ValueError, match='Unknown model'):
        canonical_model_name('resnet50')
    assert canonical_model_name('VGG16BN') == 'vgg16_bn'
    assert canonical_model_name('inception-v3') == 'inception_v3'
    assert set(MODELS) == {canonical_model_name(m) for m in MODELS}


def _save_mindcv_style(state, path):
    ms.save_checkpoint([{'name': k, 'data': ms.Tensor(v)} for k, v in state.items()], path)


def test_convert_checkpoint_writes_meta_and_loads(tmp_path, helpers):
    """MindCV-style .ckpt -> mmcls_ms .ckpt -> load into the model."""
    rng = np.random.default_rng(0)
    src = synthetic_vgg(11, False, 'mindcv', rng)
    # Real conv shapes, so the model takes them.  A GAP-neck model keeps this light:
    # the converted classifier.* keys are then reported as unexpected.
    model = helpers.build_model('vgg11', backbone=dict(num_classes=-1),
                                neck=dict(type='GlobalAveragePooling'),
                                head=dict(type='LinearClsHead', num_classes=7, in_channels=512))
    shapes = {n: p.shape for n, p in model.parameters_and_names()}
    for tv, mm in zip(TV_CONV_NO_BN[11], MM_CONV[11]):
        shape = shapes[f'backbone.features.{mm}.conv.weight']
        src[f'features.{tv}.weight'] = rng.normal(0, 0.05, shape).astype(np.float32)
    src['moments.classifier.6.weight'] = np.zeros((5, 8), np.float32)
    src_path = str(tmp_path / 'vgg11-95697531.ckpt')
    _save_mindcv_style(src, src_path)

    report = convert_checkpoint(src_path, str(tmp_path / 'vgg11_mmcls.ckpt'))
    assert (report.src_format, report.model) == ('mindcv', 'vgg11')
    assert len(report.zero_filled) == 8 and report.dropped == ['moments.classifier.6.weight']
    assert 'zero-filled 8' in report.summary()
    meta = read_checkpoint_meta(report.dst_path)
    assert meta['config'] == 'configs/vgg/vgg11_8xb32_in1k.py'
    assert meta['converted_from'] == {'format': 'mindcv', 'file': 'vgg11-95697531.ckpt'}
    load = load_checkpoint(model, report.dst_path)
    assert load.missing_keys == ['head.fc.weight', 'head.fc.bias']
    assert sorted(load.unexpected_keys) == sorted(
        f'backbone.classifier.{i}.{p}' for i in (0, 3, 6) for p in ('weight', 'bias'))
    assert len(load.loaded_keys) == 16
    got = {n: p.asnumpy() for n, p in model.parameters_and_names()}
    np.testing.assert_array_equal(got['backbone.features.2.conv.weight'], src['features.3.weight'])
    assert not got['backbone.features.2.conv.bias'].any()


def test_convert_keeps_dataset_meta_and_rejects_incomplete(tmp_path):
    rng = np.random.default_rng(0)
    src = synthetic_vgg(11, True, 'mmpretrain', rng)
    src_path = str(tmp_path / 'mm.ckpt')
    save_state_dict(src, src_path, meta={'dataset_meta': {'classes': ['x', 'y']}})
    report = convert_checkpoint(src_path, str(tmp_path / 'out.safetensors'))
    assert report.meta['dataset_meta'] == {'classes': ['x', 'y']}
    state, meta = read_checkpoint(report.dst_path)
    assert meta['model'] == 'vgg11_bn' and 'backbone.features.0.bn.moving_mean' in state

    src.pop('backbone.features.5.conv.weight')
    save_state_dict(src, src_path)
    with pytest.raises(ValueError, match='incomplete'):
        convert_checkpoint(src_path, str(tmp_path / 'bad.ckpt'))
    with pytest.raises(ValueError, match='backbone.features.5.conv.weight'):
        convert_checkpoint(src_path, str(tmp_path / 'bad.ckpt'), model='vgg11_bn')
    assert not os.path.exists(tmp_path / 'bad.ckpt')
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        convert_checkpoint(str(tmp_path / 'nothing.pth'), str(tmp_path / 'x.ckpt'))


def test_cli(tmp_path, helpers):
    rng = np.random.default_rng(0)
    src = synthetic_inception('mindcv', rng)
    src_path = str(tmp_path / 'inception_v3-38f67890.ckpt')
    _save_mindcv_style(src, src_path)
    tool = os.path.join(helpers.repo_root, 'tools', 'model_converters', 'convert.py')
    dst = str(tmp_path / 'inc.ckpt')
    run = subprocess.run([sys.executable, tool, src_path, dst, '--model', 'inception_v3',
                          '--no-progress'], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert 'mindcv inception_v3: converted 484' in run.stdout
    assert "pool_count_include_pad': False" in run.stdout
    assert read_checkpoint_meta(dst)['model_overrides'] == {
        'backbone': {'pool_count_include_pad': False}}
    bad = subprocess.run([sys.executable, tool, src_path, dst, '--model', 'vgg16',
                          '--no-progress'], capture_output=True, text=True)
    assert bad.returncode == 1 and 'look like' in bad.stderr


def test_converting_an_mmcls_ms_state_is_identity():
    rng = np.random.default_rng(0)
    once, meta = convert_state_dict(synthetic_vgg(16, True, 'torchvision', rng))
    twice, meta2 = convert_state_dict(once)
    assert meta2['converted_from']['format'] == 'mmcls_ms' and meta2['model'] == 'vgg16_bn'
    assert once.keys() == twice.keys()
    for k in once:
        np.testing.assert_array_equal(twice[k], once[k])
    inc, _ = convert_state_dict(synthetic_inception('mindcv', rng))
    again, meta3 = convert_state_dict(inc, src_meta={'model_overrides': {'backbone': {
        'pool_count_include_pad': False}}})
    assert meta3['model_overrides'] == {'backbone': {'pool_count_include_pad': False}}
    assert again.keys() == inc.keys()
