"""Checkpoint I/O: round trips, meta, optimizer state, reports and clear errors."""
import functools
import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from mmcls_ms.weights.checkpoint import (META_KEY, CheckpointError, load_checkpoint,
                                       read_checkpoint, read_checkpoint_meta, save_checkpoint)


@pytest.fixture(autouse=True)
def _bind_helpers(helpers):
    """Module-level names for the shared helpers in conftest.py."""
    global build_model, forward, assert_logits_close, REPO_ROOT
    build_model, forward = helpers.build_model, helpers.forward
    assert_logits_close, REPO_ROOT = helpers.assert_logits_close, helpers.repo_root


VGG_NAMES = [f'vgg{d}{bn}' for d in (11, 13, 16, 19) for bn in ('', '_bn')]


def small_vgg(name, num_classes=10):
    """VGG convolutions + global average pooling + linear head: light but complete."""
    return build_model(name, backbone=dict(num_classes=-1),
                       neck=dict(type='GlobalAveragePooling'),
                       head=dict(type='LinearClsHead', num_classes=num_classes,
                                 in_channels=512))


def randomize(model, seed=0):
    """Non-trivial values everywhere, BN statistics included."""
    rng = np.random.default_rng(seed)
    for name, p in model.parameters_and_names():
        if name.endswith('moving_variance'):
            value = rng.uniform(0.5, 2.0, p.shape)
        else:
            value = rng.normal(0, 0.05, p.shape)
        p.set_data(ms.Tensor(value.astype(np.float32)))
    return model


def params_of(model):
    return {n: p.asnumpy().copy() for n, p in model.parameters_and_names()}


# --------------------------------------------------------------------------- #
# Round trips: save, load into a fresh model, same logits
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize('name', VGG_NAMES)
def test_round_trip_vgg_gap(tmp_path, name):
    src = randomize(small_vgg(name))
    x = np.random.default_rng(1).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
    save_checkpoint(src, str(tmp_path / 'm.ckpt'), meta={'epoch': 1})
    dst = small_vgg(name)
    report = load_checkpoint(dst, str(tmp_path / 'm.ckpt'), strict=True)
    assert report.ok and report.meta['epoch'] == 1
    np.testing.assert_array_equal(forward(dst, x), forward(src, x))


def test_round_trip_inception_v3_with_aux(tmp_path):
    src = build_model('inception_v3', backbone=dict(aux_logits=True))
    before = params_of(src)
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 75, 75)).astype(np.float32)
    save_checkpoint(src, str(tmp_path / 'inc.ckpt'))
    dst = build_model('inception_v3', backbone=dict(aux_logits=True))
    report = load_checkpoint(dst, str(tmp_path / 'inc.ckpt'), strict=True)
    assert any(k.startswith('backbone.AuxLogits.') for k in report.loaded_keys)
    after = params_of(dst)
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    np.testing.assert_array_equal(forward(dst, x), forward(src, x))


def test_round_trip_safetensors(tmp_path):
    src = randomize(small_vgg('vgg11_bn'))
    path = str(tmp_path / 'm.safetensors')
    save_checkpoint(src, path, meta={'dataset_meta': {'classes': list('abcdefghij')}})
    dst = small_vgg('vgg11_bn')
    report = load_checkpoint(dst, path, strict=True)
    assert report.meta['dataset_meta']['classes'] == list('abcdefghij')
    x = np.random.default_rng(2).uniform(0, 1, (1, 3, 32, 32)).astype(np.float32)
    np.testing.assert_array_equal(forward(dst, x), forward(src, x))
    # MindSpore itself reads the file too.
    loaded = ms.load_checkpoint(path, format='safetensors')
    np.testing.assert_array_equal(loaded['head.fc.weight'].asnumpy(),
                                  params_of(src)['head.fc.weight'])


@pytest.mark.slow
def test_round_trip_vgg_adaptive_pool_classifier(tmp_path):
    src = randomize(build_model('vgg11', backbone=dict(adaptive_pool=True)))
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 32, 32)).astype(np.float32)
    save_checkpoint(src, str(tmp_path / 'm.ckpt'))
    dst = build_model('vgg11', backbone=dict(adaptive_pool=True))
    load_checkpoint(dst, str(tmp_path / 'm.ckpt'), strict=True)
    np.testing.assert_array_equal(forward(dst, x), forward(src, x))


@pytest.mark.slow
@pytest.mark.parametrize('name', VGG_NAMES)
def test_round_trip_vgg_full_size(tmp_path, name):
    src = build_model(name)
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224)).astype(np.float32)
    save_checkpoint(src, str(tmp_path / 'm.ckpt'))
    dst = build_model(name)
    load_checkpoint(dst, str(tmp_path / 'm.ckpt'), strict=True)
    assert_logits_close(forward(dst, x), forward(src, x), rtol=0)


# --------------------------------------------------------------------------- #
# Meta and optimizer state
# --------------------------------------------------------------------------- #
def test_meta_round_trips_exactly(tmp_path):
    meta = {
        'epoch': 7, 'iter': 7000, 'config': "model = dict(type='ImageClassifier')\n# é ✓\n",
        'dataset_meta': {'classes': ['tench, Tinca tinca', 'goldfish']},
        'param_schedulers': [{'last_step': 6, 'base_lrs': [0.1], '_last_lr': [0.0125]}],
        'rng': {'numpy': {'state': [1, 2, 3], 'pos': 624}, 'python': [3, [1, 2], None]},
        'lr': 0.1 / 3, 'flags': [True, False, None],
    }
    model = small_vgg('vgg11')
    path = str(tmp_path / 'epoch_7.ckpt')
    save_checkpoint(model, path, meta=meta)
    read = read_checkpoint_meta(path)
    assert read.pop('mmcls_ms_version') == mmcls_version()
    assert read == meta
    assert json.dumps(read, sort_keys=True) == json.dumps(meta, sort_keys=True)


def mmcls_version():
    from mmcls_ms.version import __version__
    return __version__


def test_meta_must_be_json(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(small_vgg('vgg11'), str(tmp_path / 'x.ckpt'), meta={'a': object()})
    assert not os.listdir(tmp_path)


def _train_steps(model, optimizer, steps=2):
    loss_fn = nn.MSELoss()

    def forward_fn(x, y):
        return loss_fn(model(x), y)

    grad_fn = ms.value_and_grad(forward_fn, None, optimizer.parameters)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = ms.Tensor(rng.uniform(0, 1, (2, 3, 32, 32)).astype(np.float32))
        y = ms.Tensor(rng.normal(0, 1, (2, 10)).astype(np.float32))
        _, grads = grad_fn(x, y)
        optimizer(grads)


@pytest.mark.parametrize('optim', ['Momentum', 'Adam'])
def test_optimizer_state_round_trip(tmp_path, optim):
    def make():
        model = randomize(small_vgg('vgg11'))
        params = model.trainable_params()
        if optim == 'Momentum':
            opt = nn.Momentum(params, learning_rate=0.05, momentum=0.9)
        else:
            opt = nn.Adam(params, learning_rate=0.001)
        return model, opt

    model, opt = make()
    model.set_train(True)
    _train_steps(model, opt)
    opt.learning_rate.set_data(ms.Tensor(np.float32(0.0125)))
    path = str(tmp_path / 'resume.ckpt')
    save_checkpoint(model, path, meta={'epoch': 3}, optimizer=opt)
    state, _ = read_checkpoint(path)
    assert any(k.startswith('optimizer.') for k in state)
    assert 'optimizer.global_step' in state

    model2, opt2 = make()
    report = load_checkpoint(model2, path, strict=True, optimizer=opt2)
    assert report.optimizer_keys
    expected = {n: p.asnumpy() for n, p in opt.parameters_and_names()}
    for n, p in opt2.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), expected[n], err_msg=n)
    assert float(opt2.learning_rate.asnumpy()) == pytest.approx(0.0125)
    assert int(opt2.global_step.asnumpy().reshape(-1)[0]) == 2

    # Weights-only loading ignores the optimizer entries without complaint.
    model3, _ = make()
    report = load_checkpoint(model3, path, strict=True)
    assert report.ok and all(k.startswith('optimizer.') for k in report.ignored_keys)


def test_optimizer_mismatch_is_an_error(tmp_path):
    model = small_vgg('vgg11')
    opt = nn.Momentum(model.trainable_params(), learning_rate=0.1, momentum=0.9)
    path = str(tmp_path / 'm.ckpt')
    save_checkpoint(model, path, optimizer=opt)
    other = nn.Adam(model.trainable_params(), learning_rate=0.1)
    with pytest.raises(CheckpointError, match='Cannot restore the optimizer') as err:
        load_checkpoint(model, path, optimizer=other)
    assert 'optimizer.moment1.' in str(err.value) and 'missing in checkpoint' in str(err.value)


# --------------------------------------------------------------------------- #
# Reports: mismatches, missing/unexpected keys, foreign training state
# --------------------------------------------------------------------------- #
def test_shape_mismatch_strict_error_names_both_shapes(tmp_path):
    src = randomize(small_vgg('vgg11', num_classes=1000))
    path = str(tmp_path / 'in1k.ckpt')
    save_checkpoint(src, path)
    dst = small_vgg('vgg11', num_classes=10)
    before = params_of(dst)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(dst, path, strict=True)
    msg = str(err.value)
    assert 'head.fc.weight' in msg and '(1000, 512)' in msg and '(10, 512)' in msg
    assert 'head.fc.bias' in msg and '(1000,)' in msg and '(10,)' in msg
    assert 'strict=False' in msg and path in msg
    # A failed strict load changes nothing.
    for k, v in params_of(dst).items():
        np.testing.assert_array_equal(v, before[k])


def test_shape_mismatch_non_strict_skips_with_warning(tmp_path):
    src = randomize(small_vgg('vgg11', num_classes=1000))
    path = str(tmp_path / 'in1k.ckpt')
    save_checkpoint(src, path)
    dst = small_vgg('vgg11', num_classes=10)
    head_before = params_of(dst)['head.fc.weight']
    with pytest.warns(UserWarning, match='Skipped 2 parameters') as warned:
        report = load_checkpoint(dst, path, strict=False)
    assert 'head.fc.weight: checkpoint (1000, 512) vs model (10, 512)' in str(warned[0].message)
    assert [k for k, _, _ in report.mismatched_keys] == ['head.fc.weight', 'head.fc.bias']
    assert report.mismatched_keys[0][1:] == ((1000, 512), (10, 512))
    after = params_of(dst)
    np.testing.assert_array_equal(after['head.fc.weight'], head_before)
    np.testing.assert_array_equal(after['backbone.features.0.conv.weight'],
                                  params_of(src)['backbone.features.0.conv.weight'])
    table = report.table()
    assert 'shape mismatch' in table and '(1000, 512)' in table


def test_missing_and_unexpected_keys_reported(tmp_path):
    src = randomize(small_vgg('vgg11'))
    state = params_of(src)
    state.pop('backbone.features.0.conv.bias')
    state['backbone.extra.weight'] = np.ones(3, np.float32)
    ms.save_checkpoint([{'name': k, 'data': ms.Tensor(v)} for k, v in state.items()],
                       str(tmp_path / 'x.ckpt'))
    dst = small_vgg('vgg11')
    report = load_checkpoint(dst, str(tmp_path / 'x.ckpt'))
    assert report.missing_keys == ['backbone.features.0.conv.bias']
    assert report.unexpected_keys == ['backbone.extra.weight']
    assert 'missing in checkpoint' in report.table() and 'unexpected' in report.table()
    with pytest.raises(CheckpointError, match='backbone.extra.weight'):
        load_checkpoint(dst, str(tmp_path / 'x.ckpt'), strict=True)


def test_training_state_entries_are_ignored(tmp_path):
    """A MindCV-style file: weights next to optimizer moments and counters."""
    net = randomize(small_vgg('vgg11'))
    opt = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    items = [{'name': n, 'data': p} for n, p in net.parameters_and_names()]
    items += [{'name': n, 'data': p} for n, p in opt.parameters_and_names()
              if n.startswith('moments.') or n in ('global_step', 'learning_rate')]
    items.append({'name': 'adam_m.head.fc.weight', 'data': ms.Tensor(np.zeros((7, 512),
                                                                              np.float32))})
    ms.save_checkpoint(items, str(tmp_path / 'mindcv.ckpt'))
    dst = small_vgg('vgg11')
    report = load_checkpoint(dst, str(tmp_path / 'mindcv.ckpt'), strict=True)
    assert report.ok and not report.unexpected_keys
    assert 'global_step' in report.ignored_keys and 'adam_m.head.fc.weight' in report.ignored_keys


def test_revise_keys(tmp_path):
    src = randomize(small_vgg('vgg11'))
    items = [{'name': 'module.' + n, 'data': p} for n, p in src.parameters_and_names()]
    ms.save_checkpoint(items, str(tmp_path / 'ddp.ckpt'))
    report = load_checkpoint(small_vgg('vgg11'), str(tmp_path / 'ddp.ckpt'), strict=True)
    assert report.ok
    items = [{'name': 'model.' + n, 'data': p} for n, p in src.parameters_and_names()]
    ms.save_checkpoint(items, str(tmp_path / 'other.ckpt'))
    report = load_checkpoint(small_vgg('vgg11'), str(tmp_path / 'other.ckpt'), strict=True,
                             revise_keys=[(r'^model\.', '')])
    assert report.ok


# --------------------------------------------------------------------------- #
# Clear errors for bad files
# --------------------------------------------------------------------------- #
def test_missing_file_error_names_path(tmp_path):
    path = str(tmp_path / 'nope' / 'epoch_3.ckpt')
    with pytest.raises(FileNotFoundError, match='Checkpoint file not found') as err:
        load_checkpoint(small_vgg('vgg11'), path)
    assert path in str(err.value)
    with pytest.raises(FileNotFoundError, match='epoch_3.ckpt'):
        read_checkpoint_meta(path)


def test_truncated_file_error_names_path(tmp_path):
    model = randomize(small_vgg('vgg11'))
    path = str(tmp_path / 'm.ckpt')
    save_checkpoint(model, path)
    data = open(path, 'rb').read()
    for cut in (len(data) // 2, len(data) - 3, 40):
        bad = str(tmp_path / f'cut_{cut}.ckpt')
        with open(bad, 'wb') as f:
            f.write(data[:cut])
        with pytest.raises(CheckpointError, match='truncated') as err:
            load_checkpoint(small_vgg('vgg11'), bad)
        assert bad in str(err.value) and 're-download' in str(err.value)
    empty = str(tmp_path / 'empty.ckpt')
    open(empty, 'wb').close()
    with pytest.raises(CheckpointError, match='empty') as err:
        read_checkpoint(empty)
    assert empty in str(err.value)


def test_truncated_safetensors_error_names_path(tmp_path):
    path = str(tmp_path / 'm.safetensors')
    save_checkpoint(randomize(small_vgg('vgg11')), path)
    data = open(path, 'rb').read()
    bad = str(tmp_path / 'cut.safetensors')
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt') as err:
        read_checkpoint(bad)
    assert bad in str(err.value)


def test_non_checkpoint_files(tmp_path):
    text = tmp_path / 'notes.ckpt'
    text.write_text('these are not weights\n' * 10)
    with pytest.raises(CheckpointError, match='not a checkpoint file') as err:
        load_checkpoint(small_vgg('vgg11'), str(text))
    assert str(text) in str(err.value)
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        read_checkpoint(str(tmp_path))
    # A PyTorch zip file gets pointed at the converter.
    import zipfile
    pth = tmp_path / 'vgg16.pth'
    with zipfile.ZipFile(pth, 'w') as z:
        z.writestr('archive/data.pkl', b'\x80\x02}q\x00.')
    with pytest.raises(CheckpointError, match='convert.py') as err:
        load_checkpoint(small_vgg('vgg11'), str(pth))
    assert str(pth) in str(err.value)


# --------------------------------------------------------------------------- #
# Atomic writes
# --------------------------------------------------------------------------- #
def test_save_leaves_no_temporaries_and_overwrites(tmp_path):
    path = str(tmp_path / 'latest.ckpt')
    save_checkpoint(small_vgg('vgg11'), path, meta={'epoch': 1})
    save_checkpoint(small_vgg('vgg11'), path, meta={'epoch': 2})
    assert os.listdir(tmp_path) == ['latest.ckpt']
    assert read_checkpoint_meta(path)['epoch'] == 2
    assert META_KEY not in read_checkpoint(path)[0]


_WRITER = textwrap.dedent('''
    import sys
    sys.path.insert(0, {root!r})
    import mmcls_ms
    import mindspore as ms, numpy as np
    from mindspore import nn
    from mmcls_ms.weights.checkpoint import save_checkpoint

    class Big(nn.Cell):
        def __init__(self):
            super().__init__()
            for i in range(24):
                setattr(self, f'w{{i}}', ms.Parameter(ms.Tensor(
                    np.full((1024, 4096), i, np.float32)), name=f'w{{i}}'))

    net = Big()
    print('ready', flush=True)
    save_checkpoint(net, {path!r}, meta={{'epoch': 99}})
    print('done', flush=True)
''')


def test_killed_writer_keeps_previous_checkpoint(tmp_path):
    """SIGKILL a process in the middle of writing a 400 MB checkpoint: the
    previous checkpoint under that name must still load."""
    path = str(tmp_path / 'latest.ckpt')
    model = randomize(small_vgg('vgg11'))
    save_checkpoint(model, path, meta={'epoch': 1})
    expected = params_of(model)

    script = tmp_path / 'writer.py'
    script.write_text(_WRITER.format(root=REPO_ROOT, path=path))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        # Wait until the writer has put bytes into its temporary file, then kill it.
        deadline = time.time() + 120
        killed_mid_write = False
        while time.time() < deadline and proc.poll() is None:
            temps = [n for n in os.listdir(tmp_path) if n.startswith('.latest.ckpt.tmp-')]
            sizes = [os.path.getsize(tmp_path / n) for n in temps
                     if os.path.exists(tmp_path / n)]
            if sizes and max(sizes) > 1 << 20:
                os.kill(proc.pid, signal.SIGKILL)
                killed_mid_write = True
                break
            time.sleep(0.001)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed_mid_write, 'the writer finished before it could be killed'
    assert proc.returncode == -signal.SIGKILL

    # The final name still holds the old, complete checkpoint.
    assert read_checkpoint_meta(path)['epoch'] == 1
    dst = small_vgg('vgg11')
    report = load_checkpoint(dst, path, strict=True)
    assert report.ok
    for k, v in params_of(dst).items():
        np.testing.assert_array_equal(v, expected[k])

    # The next save cleans up the dead writer's temporary file.
    save_checkpoint(model, path, meta={'epoch': 2})
    assert sorted(os.listdir(tmp_path)) == ['latest.ckpt', 'writer.py']


# --------------------------------------------------------------------------- #
# URLs (through mmcls_ms.weights.download, served on loopback)
# --------------------------------------------------------------------------- #
def test_load_from_http_url(tmp_path, monkeypatch):
    pytest.importorskip('mmcls_ms.weights.download')
    served = tmp_path / 'served'
    served.mkdir()
    src = randomize(small_vgg('vgg11'))
    save_checkpoint(src, str(served / 'vgg11_gap.ckpt'), meta={'epoch': 5})
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}/vgg11_gap.ckpt'
        dst = small_vgg('vgg11')
        report = load_checkpoint(dst, url, strict=True)
    finally:
        server.shutdown()
        server.server_close()
    assert report.ok and report.meta['epoch'] == 5
    assert report.path.startswith(str(tmp_path / 'home'))
    x = np.random.default_rng(3).uniform(0, 1, (1, 3, 32, 32)).astype(np.float32)
    np.testing.assert_array_equal(forward(dst, x), forward(src, x))


@pytest.mark.parametrize('crc_check', [False, True])
def test_reader_matches_mindspore_load(tmp_path, crc_check):
    """read_checkpoint (our streaming reader) gives what mindspore.load_checkpoint gives."""
    rng = np.random.default_rng(0)
    arrays = {'f32': rng.normal(size=(3, 4)).astype(np.float32),
              'f16': rng.normal(size=7).astype(np.float16),
              'f64': rng.normal(size=2),
              'i32': np.arange(-3, 3, dtype=np.int32),
              'i64_scalar': np.array(42, np.int64),
              'u8': np.arange(250, 256, dtype=np.uint8),
              'flag': np.array([True, False])}
    path = str(tmp_path / 'mixed.ckpt')
    ms.save_checkpoint([{'name': k, 'data': ms.Tensor(v)} for k, v in arrays.items()], path,
                       crc_check=crc_check, append_dict={'note': 'text'})
    state, meta = read_checkpoint(path)
    assert meta == {} and state.keys() == arrays.keys()
    reference = ms.load_checkpoint(path)
    for key, value in arrays.items():
        assert state[key].dtype == value.dtype, key
        np.testing.assert_array_equal(state[key], value)
        np.testing.assert_array_equal(state[key], reference[key].asnumpy())


def test_reader_is_immune_to_low_free_memory(tmp_path, monkeypatch):
    """MindSpore 2.10's load_checkpoint refuses a .ckpt larger than the free
    memory (SC_AVPHYS_PAGES, page cache excluded); mmcls_ms's reader reads it,
    with the same values MindSpore reads when it has the memory."""
    net = nn.SequentialCell([nn.Conv2d(3, 8, 3, has_bias=True), nn.BatchNorm2d(8),
                             nn.Flatten(), nn.Dense(8 * 30 * 30, 4)])
    path = str(tmp_path / 'mindcv_style.ckpt')
    ms.save_checkpoint(net, path, append_dict={'global_step': 7, 'epoch_num': 2})
    reference = {k: v.asnumpy() for k, v in ms.load_checkpoint(path).items()}
    sysconf = os.sysconf
    monkeypatch.setattr(os, 'sysconf',
                        lambda name: 1 if name == 'SC_AVPHYS_PAGES' else sysconf(name))
    with pytest.raises(ValueError, match='exceeds current available memory'):
        ms.load_checkpoint(path)
    state, _ = read_checkpoint(path)
    assert set(state) == set(reference)
    for name, value in reference.items():
        np.testing.assert_array_equal(state[name].reshape(value.shape), value, err_msg=name)
    report = load_checkpoint(net, path, strict=False, logger=False)
    assert not report.missing_keys and not report.mismatched_keys
