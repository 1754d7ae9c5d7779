"""The torch-free .pth reader: same arrays as torch.load, and no code execution."""
import os
import pickle
import sys
import zipfile

import numpy as np
import pytest

from mmcls_ms.weights.pth_reader import (PthFormatError, UnsafePickleError, load_pth,
                                       load_pth_state_dict)


class _Payload:
    """Pickles to a call of an arbitrary global: what a malicious checkpoint does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _write_zip_pth(path, pickled: bytes, storages=None):
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('archive/data.pkl', pickled)
        z.writestr('archive/version', '3\n')
        for key, raw in (storages or {}).items():
            z.writestr(f'archive/data/{key}', raw)


@pytest.mark.parametrize('how', ['os.system', 'eval', 'nested'])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, how):
    marker = tmp_path / 'pwned'
    command = f'touch {marker}'
    if how == 'os.system':
        payload = _Payload(os.system, command)
    elif how == 'eval':
        payload = _Payload(eval, f'__import__("os").system({command!r})')
    else:  # hidden inside an otherwise ordinary state dict
        payload = {'state_dict': {'fc.bias': [0.0], 'meta': _Payload(os.system, command)}}
    raw = pickle.dumps(payload, protocol=2)
    assert b'system' in raw or b'eval' in raw
    path = tmp_path / 'evil.pth'
    _write_zip_pth(path, raw)

    with pytest.raises(UnsafePickleError) as err:
        load_pth(str(path))
    msg = str(err.value)
    assert str(path) in msg and 'refuses' in msg
    assert ('system' in msg) or ('eval' in msg)
    assert not marker.exists(), 'the payload ran'


def test_refuses_reduce_of_arbitrary_torch_names(tmp_path):
    """Only the allow-listed torch names resolve; torch.load itself does not."""
    raw = (b'\x80\x02ctorch\nload\nq\x00X\x08\x00\x00\x00/etc/pwdq\x01\x85q\x02Rq\x03.')
    path = tmp_path / 'x.pth'
    _write_zip_pth(path, raw)
    with pytest.raises(UnsafePickleError, match='torch.load'):
        load_pth(str(path))


def test_plain_containers_load(tmp_path):
    path = tmp_path / 'plain.pth'
    obj = {'meta': {'epoch': 3, 'classes': ('a', 'b'), 'lr': 0.5}, 'state_dict': {}}
    _write_zip_pth(path, pickle.dumps(obj, protocol=2))
    assert load_pth(str(path)) == obj


def _text(value):
    raw = value.encode()
    return b'X' + len(raw).to_bytes(4, 'little') + raw


def _int_tuple(values):
    return b'(' + b''.join(b'J' + int(v).to_bytes(4, 'little', signed=True)
                           for v in values) + b't'


def _torch_style_pickle(tensors):
    """Hand-assembled protocol-2 pickle of ``{name: tensor}`` exactly as torch.save
    lays it out (``_rebuild_tensor_v2`` + persistent storage ids), so the reader is
    tested without torch.  ``tensors``: name -> (storage key, dtype name, numel,
    offset, size, stride)."""
    out = b'\x80\x02}'
    for name, (key, storage, numel, offset, size, stride) in tensors.items():
        out += _text(name) + b'ctorch._utils\n_rebuild_tensor_v2\n('
        out += b'(' + _text('storage') + f'ctorch\n{storage}\n'.encode() + _text(key)
        out += _text('cpu') + b'J' + numel.to_bytes(4, 'little') + b'tQ'
        out += b'J' + offset.to_bytes(4, 'little') + _int_tuple(size) + _int_tuple(stride)
        out += b'\x89ccollections\nOrderedDict\n)RtRs'
    return out + b'.'


def test_reads_tensors_without_torch(tmp_path):
    base = np.arange(30, dtype=np.float32).reshape(5, 6)
    halves = np.linspace(-1, 1, 8).astype(np.float16)
    raw = _torch_style_pickle({
        'conv.weight': ('0', 'FloatStorage', 30, 0, (5, 6), (6, 1)),
        'conv.weight_t': ('0', 'FloatStorage', 30, 0, (6, 5), (1, 6)),   # shared, strided
        'conv.window': ('0', 'FloatStorage', 30, 8, (2, 3), (6, 1)),     # offset view
        'bn.num_batches_tracked': ('1', 'LongStorage', 1, 0, (), ()),
        'half': ('2', 'HalfStorage', 8, 0, (8, ), (1, )),
    })
    path = tmp_path / 'handmade.pth'
    _write_zip_pth(path, raw, {'0': base.tobytes(), '1': np.int64(12).tobytes(),
                               '2': halves.tobytes()})
    state, meta = load_pth_state_dict(str(path), progress=True)
    assert meta == {}
    np.testing.assert_array_equal(state['conv.weight'], base)
    np.testing.assert_array_equal(state['conv.weight_t'], base.T)
    np.testing.assert_array_equal(state['conv.window'], base[1:3, 2:5])
    assert state['bn.num_batches_tracked'].shape == () and state['bn.num_batches_tracked'] == 12
    assert state['half'].dtype == np.float16
    np.testing.assert_array_equal(state['half'], halves)
    # The arrays own their memory (no views into the archive buffers).
    assert all(a.flags.owndata or a.base is None for a in state.values())


def test_not_a_zip_and_legacy_and_truncated(tmp_path):
    missing = tmp_path / 'missing.pth'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_pth(str(missing))
    legacy = tmp_path / 'legacy.pth'
    legacy.write_bytes(b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.' + b'\x00' * 64)
    with pytest.raises(PthFormatError, match='legacy') as err:
        load_pth(str(legacy))
    assert str(legacy) in str(err.value)
    text = tmp_path / 'notes.pth'
    text.write_text('hello')
    with pytest.raises(PthFormatError, match='not a PyTorch checkpoint'):
        load_pth(str(text))
    good = tmp_path / 'good.pth'
    _write_zip_pth(good, pickle.dumps({'a': 1}, protocol=2), {'0': b'\x00' * 4096})
    data = good.read_bytes()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(PthFormatError) as err:
        load_pth(str(cut))
    assert str(cut) in str(err.value)
    torchscript = tmp_path / 'script.pt'
    with zipfile.ZipFile(torchscript, 'w') as z:
        z.writestr('m/constants.pkl', b'\x80\x02).')
        z.writestr('m/code/__torch__.py', 'pass')
    with pytest.raises(PthFormatError, match='TorchScript'):
        load_pth(str(torchscript))


def test_import_does_not_pull_in_torch():
    import subprocess
    code = ('import sys; import mmcls_ms.weights.pth_reader, mmcls_ms.weights.converters, '
            'mmcls_ms.weights.checkpoint; assert "torch" not in sys.modules, "torch imported"')
    subprocess.run([sys.executable, '-c', code], check=True,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


# --------------------------------------------------------------------------- #
# Equality with torch.load (needs torch: parity venv)
# --------------------------------------------------------------------------- #
@pytest.mark.parity
def test_same_arrays_as_torch_load(tmp_path):
    torch = pytest.importorskip('torch')
    torchvision = pytest.importorskip('torchvision')
    gen = torch.Generator().manual_seed(0)
    model = torchvision.models.vgg11_bn()
    sd = model.state_dict()
    base = torch.randn(5, 6, generator=gen)
    sd['extra.transposed'] = base.t()              # non-contiguous strides
    sd['extra.view'] = base[1:3, 2:]               # offset into a shared storage
    sd['extra.bf16'] = torch.randn(3, 4, generator=gen).to(torch.bfloat16)
    sd['extra.fp16'] = torch.randn(3, 4, generator=gen).half()
    sd['extra.fp64'] = torch.randn(2, generator=gen).double()
    sd['extra.int64'] = torch.arange(7)
    sd['extra.int8'] = torch.arange(-3, 3, dtype=torch.int8)
    sd['extra.uint8'] = torch.arange(250, 256, dtype=torch.uint8)
    sd['extra.bool'] = torch.tensor([True, False, True])
    sd['extra.scalar'] = torch.tensor(3.5)
    sd['extra.empty'] = torch.zeros(0, 3)
    sd['extra.param'] = torch.nn.Parameter(torch.randn(2, 2, generator=gen))
    sd['extra.expanded'] = torch.ones(3, 1).expand(3, 4)  # zero stride
    meta = {'dataset_meta': {'classes': ['cat', 'dog']}, 'epoch': 12, 'mmengine_version': '0.10'}
    path = tmp_path / 'x.pth'
    torch.save({'state_dict': sd, 'meta': meta}, path)

    state, read_meta = load_pth_state_dict(str(path))
    reference = torch.load(path, weights_only=True)['state_dict']
    assert read_meta == meta
    assert state.keys() == reference.keys()
    for key, tensor in reference.items():
        tensor = tensor.detach()
        expected = tensor.float().numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
        assert state[key].dtype == expected.dtype, key
        assert state[key].shape == expected.shape, key
        np.testing.assert_array_equal(state[key], expected, err_msg=key)
    # A bare state dict (torchvision's published files) works the same way.
    torch.save(model.state_dict(), tmp_path / 'bare.pth')
    bare, bare_meta = load_pth_state_dict(str(tmp_path / 'bare.pth'))
    assert bare_meta == {} and bare.keys() == model.state_dict().keys()


@pytest.mark.parity
def test_legacy_torch_format_refused(tmp_path):
    torch = pytest.importorskip('torch')
    path = tmp_path / 'old.pth'
    torch.save({'w': torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(PthFormatError, match='legacy'):
        load_pth(str(path))
