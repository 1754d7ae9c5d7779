"""Read PyTorch ``.pth``/``.pt`` files into numpy arrays, without PyTorch.

Handles the zip-based format that ``torch.save`` has written since torch 1.6:
``<archive>/data.pkl`` (a pickle whose tensors point at storages by key) and
``<archive>/data/<key>`` (the raw storage bytes).

The pickle is read with a *restricted* unpickler: it only resolves the globals
that a state dict needs (tensor/parameter rebuild functions, storage types,
``OrderedDict`` and numpy's array reconstruction).  Any other global, such as
``os.system`` or ``builtins.eval``, raises :class:`UnsafePickleError` before it
can run, so loading a checkpoint never executes code from the file.

Example:
    >>> from mmcls_ms.weights.pth_reader import load_pth
    >>> obj = load_pth('vgg16-397923af.pth')          # doctest: +SKIP
    >>> obj['features.0.weight'].shape                 # doctest: +SKIP
    (64, 3, 3, 3)
"""
import collections
import contextlib
import os
import pickle
import zipfile
from typing import Dict, Tuple

import numpy as np

from mmcls_ms.utils.progress import make_progress


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle references a global outside the allow-list."""


class PthFormatError(ValueError):
    """The file is not a readable zip-based PyTorch checkpoint."""


# torch storage class name -> numpy dtype ('bfloat16' is widened to float32).
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': 'bfloat16', 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_}


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """numpy version of ``torch._utils._rebuild_tensor_v2``."""
    size, stride = tuple(size), tuple(stride)
    if not size:
        return np.array(storage[storage_offset])
    if any(s == 0 for s in size):
        return np.zeros(size, dtype=storage.dtype)
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=size, strides=tuple(s * item for s in stride))
    return np.array(view, copy=True, order='C')


def _rebuild_parameter(data, *unused):
    return data


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


# (module, name) -> what it resolves to.  Nothing here can run code from the file.
_SAFE_GLOBALS = {
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch._utils', '_rebuild_parameter_with_state'): _rebuild_parameter,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    # numpy arrays/scalars that some training frameworks put in the meta
    ('numpy.core.multiarray', '_reconstruct'): np.core.multiarray._reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): np.core.multiarray._reconstruct,
    ('numpy.core.multiarray', 'scalar'): np.core.multiarray.scalar,
    ('numpy._core.multiarray', 'scalar'): np.core.multiarray.scalar,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
}
_SAFE_GLOBALS.update({('torch', name): _StorageType(name) for name in _STORAGE_DTYPES})


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, archive, prefix, path, on_storage=None):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._path = path
        self._storages = {}
        self._on_storage = on_storage

    def find_class(self, module, name):
        if (module, name) == ('_codecs', 'encode'):  # numpy byte payloads (protocol 2)
            return _latin1_encode
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f'{self._path!r} references the global {module}.{name}, which is not a '
                'tensor, storage or plain container. mmcls_ms refuses to load it because '
                'unpickling it could run arbitrary code. Only load checkpoints you trust, and '
                'if you do, re-save a plain state_dict with torch.save(model.state_dict()); '
                'for an mmengine training checkpoint (epoch_N.pth, with message_hub and '
                'optimizer state) run mmpretrain\'s tools/model_converters/publish_model.py.'
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == 'storage'):
            raise UnsafePickleError(f'{self._path!r}: unsupported persistent id {pid!r}')
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError(f'{self._path!r}: unsupported storage type {storage_type!r}')
        if key not in self._storages:
            name = f'{self._prefix}data/{key}'
            try:
                raw = self._archive.read(name)
            except KeyError:
                raise PthFormatError(f'{self._path!r} is incomplete: storage {name!r} is '
                                     'missing from the archive.') from None
            if storage_type.dtype == 'bfloat16':
                bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=storage_type.dtype)
            if self._big_endian:
                array = array.byteswap()
            self._storages[key] = array
            if self._on_storage is not None:
                self._on_storage()
        return self._storages[key]

    @property
    def _big_endian(self):
        name = f'{self._prefix}byteorder'
        try:
            return self._archive.read(name).strip() == b'big'
        except KeyError:
            return False


def _latin1_encode(text, encoding='latin1'):
    if encoding != 'latin1' or not isinstance(text, str):
        raise UnsafePickleError('unsupported _codecs.encode call in pickle')
    return text.encode('latin1')


def load_pth(path: str, progress: bool = False):
    """Unpickle a zip-based PyTorch file; tensors become numpy arrays.

    ``progress=True`` shows a bar over the tensor storages as they are read.

    Raises ``FileNotFoundError``, :class:`PthFormatError` (legacy or TorchScript
    files, truncated archives) or :class:`UnsafePickleError`.

    Example:
        >>> ckpt = load_pth('inception-v3_3rdparty_in1k-dcd4d910.pth')  # doctest: +SKIP
        >>> sorted(ckpt)                                               # doctest: +SKIP
        ['meta', 'state_dict']
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'PyTorch checkpoint not found: {path!r}')
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(2)
        if head[:1] == b'\x80':
            raise PthFormatError(
                f'{path!r} uses the legacy (pre-1.6) PyTorch format, which mmcls_ms does not '
                'read. Re-save it with torch >= 1.6: '
                '`torch.save(torch.load(p, weights_only=True), "new.pth")`.')
        raise PthFormatError(f'{path!r} is not a PyTorch checkpoint (not a zip archive); it '
                             'may be truncated or a different kind of file.')
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith('data.pkl')
                       and n.count('/') == 1]
            if not pickles:
                if any(n.endswith('constants.pkl') for n in archive.namelist()):
                    raise PthFormatError(f'{path!r} is a TorchScript archive, not a state '
                                         'dict; save model.state_dict() instead.')
                raise PthFormatError(f'{path!r} is a zip file without data.pkl; it is not a '
                                     'PyTorch checkpoint.')
            prefix = pickles[0][:-len('data.pkl')]
            with archive.open(pickles[0]) as f, _storage_progress(
                    archive, prefix, path, progress) as on_storage:
                return _RestrictedUnpickler(f, archive, prefix, path, on_storage).load()
    except zipfile.BadZipFile as err:
        raise PthFormatError(f'{path!r} is a damaged or truncated zip archive ({err}); '
                             're-download it.') from err


@contextlib.contextmanager
def _storage_progress(archive, prefix, path, enabled):
    if not enabled:
        yield None
        return
    total = sum(1 for n in archive.namelist() if n.startswith(prefix + 'data/'))
    bar = make_progress()
    with bar:
        task = bar.add_task(f'Reading {os.path.basename(path)}', total=total, status='')
        yield lambda: bar.advance(task)


def _flatten(obj, prefix=''):
    """Flatten nested dicts of arrays into ``{'a.b.c': array}``."""
    flat = {}
    for key, value in obj.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(_flatten(value, name + '.'))
        elif isinstance(value, np.ndarray):
            flat[name] = value
    return flat


def load_pth_state_dict(path: str, progress: bool = False) -> Tuple[Dict[str, np.ndarray], dict]:
    """Read a .pth file into ``(flat state dict, meta)``.

    Unwraps the usual containers: ``{'state_dict': ...}`` (mmpretrain/mmengine),
    ``{'model': ...}``, ``{'module': ...}``; a bare state dict is returned as is.
    ``meta`` is the file's ``meta`` entry (mmpretrain) or ``{}``.

    Example:
        >>> state, meta = load_pth_state_dict('vgg16-397923af.pth')  # doctest: +SKIP
    """
    obj = load_pth(path, progress=progress)
    if not isinstance(obj, dict):
        raise PthFormatError(f'{path!r} holds a {type(obj).__name__}, not a state dict.')
    meta = obj.get('meta') if isinstance(obj.get('meta'), dict) else {}
    for wrapper in ('state_dict', 'model', 'module', 'net'):
        if isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
            break
    state = _flatten(obj)
    if not state:
        raise PthFormatError(f'{path!r} contains no tensors.')
    return state, meta
