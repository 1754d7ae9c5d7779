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
import struct
import zipfile
import zlib
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


class _Storage:
    """A storage read from the archive: its key and its elements."""

    def __init__(self, key, array):
        self.key, self.array = key, array


class _InvalidTensor:
    """What a tensor whose geometry does not fit its storage unpickles to; the
    caller names it by its key in the state dict and refuses the file."""

    def __init__(self, reason):
        self.reason = reason


# A tensor may be larger than its storage only through overlapping strides
# (an expanded view); cap what such a view may allocate.
MAX_EXPANDED_BYTES = 1 << 28
_MAX_DIMS = 32


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _geometry_problem(storage, storage_offset, size, stride):
    """Why ``(storage_offset, size, stride)`` cannot be a view of ``storage``, or None."""
    if not isinstance(storage, _Storage):
        return f'has no tensor storage (got {type(storage).__name__})'
    if not (isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list))):
        return f'has a malformed size {size!r} or stride {stride!r}'
    if len(size) != len(stride) or len(size) > _MAX_DIMS:
        return f'has size {tuple(size)} and stride {tuple(stride)} of different or too many dims'
    if not all(_is_int(v) for v in (storage_offset, *size, *stride)):
        return (f'has a non-integer size, stride or offset ({size!r}, {stride!r}, '
                f'{storage_offset!r})')
    if storage_offset < 0 or any(v < 0 for v in (*size, *stride)):
        return (f'has a negative size, stride or offset (size {tuple(size)}, stride '
                f'{tuple(stride)}, offset {storage_offset})')
    numel = 1
    for v in size:
        numel *= v
    if numel == 0:
        return None
    available = storage.array.size
    last = storage_offset + sum((n - 1) * st for n, st in zip(size, stride))
    if last >= available:
        return (f'reaches element {last} of storage {storage.key!r}, which holds {available} '
                f'(size {tuple(size)}, stride {tuple(stride)}, offset {storage_offset})')
    nbytes = numel * storage.array.itemsize
    if numel > available and nbytes > MAX_EXPANDED_BYTES:
        return (f'expands storage {storage.key!r} ({available} elements) to {numel} elements '
                f'(size {tuple(size)}, stride {tuple(stride)})')
    return None


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """numpy version of ``torch._utils._rebuild_tensor_v2``; the geometry is
    checked against the storage first, so nothing outside it is ever read."""
    problem = _geometry_problem(storage, storage_offset, size, stride)
    if problem:
        return _InvalidTensor(problem)
    array = storage.array
    size, stride = tuple(size), tuple(stride)
    if not size:
        return np.array(array[storage_offset])
    if any(s == 0 for s in size):
        return np.zeros(size, dtype=array.dtype)
    item = array.itemsize
    view = np.lib.stride_tricks.as_strided(
        array[storage_offset:], shape=size, strides=tuple(s * item for s in stride))
    return np.array(view, copy=True, order='C')


def _rebuild_parameter(data, *unused):
    if not isinstance(data, (np.ndarray, _InvalidTensor)):
        return _InvalidTensor(f'is a parameter around a {type(data).__name__}, not a tensor')
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
        self.invalid_tensors = []

    def _recording(self, rebuild):
        def rebuild_and_record(*args):
            value = rebuild(*args)
            if isinstance(value, _InvalidTensor):
                self.invalid_tensors.append(value)
            return value
        return rebuild_and_record

    def find_class(self, module, name):
        if (module, name) == ('_codecs', 'encode'):  # numpy byte payloads (protocol 2)
            return _latin1_encode
        try:
            found = _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f'{self._path!r} references the global {module}.{name}, which is not a '
                'tensor, storage or plain container. mmcls_ms refuses to load it because '
                'unpickling it could run arbitrary code. Only load checkpoints you trust, and '
                'if you do, re-save a plain state_dict with torch.save(model.state_dict()); '
                'for an mmengine training checkpoint (epoch_N.pth, with message_hub and '
                'optimizer state) run mmpretrain\'s tools/model_converters/publish_model.py.'
            ) from None
        if found in (_rebuild_tensor, _rebuild_parameter):
            return self._recording(found)
        return found

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'):
            raise UnsafePickleError(f'{self._path!r}: unsupported persistent id {pid!r}')
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError(f'{self._path!r}: unsupported storage type {storage_type!r}')
        if not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise PthFormatError(f'{self._path!r} is corrupt: storage {key!r} has a malformed '
                                 f'record (numel {numel!r}). Re-download or re-save the file.')
        if key not in self._storages:
            self._storages[key] = _Storage(key, self._read_storage(key, storage_type, numel))
            if self._on_storage is not None:
                self._on_storage()
        storage = self._storages[key]
        if storage.array.dtype != np.dtype(np.float32 if storage_type.dtype == 'bfloat16'
                                           else storage_type.dtype):
            raise PthFormatError(f'{self._path!r} is corrupt: storage {key!r} is used as '
                                 f'{storage_type.name} and as {storage.array.dtype}.')
        return storage

    def _read_storage(self, key, storage_type, numel):
        """The first ``numel`` elements of ``data/<key>`` (as torch reads it)."""
        name = f'{self._prefix}data/{key}'
        itemsize = 2 if storage_type.dtype == 'bfloat16' else np.dtype(storage_type.dtype).itemsize
        nbytes = numel * itemsize
        try:
            info = self._archive.getinfo(name)
        except KeyError:
            raise PthFormatError(f'{self._path!r} is incomplete: storage {name!r} is '
                                 'missing from the archive.') from None
        if info.file_size < nbytes:
            raise PthFormatError(
                f'{self._path!r} is truncated or corrupt: storage {name!r} holds '
                f'{info.file_size} bytes, but its record says {numel} x {itemsize} bytes. '
                'Re-download or re-save the file.')
        with self._archive.open(info) as member:
            raw = member.read(nbytes)
        if len(raw) != nbytes:
            raise PthFormatError(f'{self._path!r} is truncated: storage {name!r} ends after '
                                 f'{len(raw)} of {nbytes} bytes. Re-download the file.')
        if storage_type.dtype == 'bfloat16':
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=storage_type.dtype)
        if self._big_endian:
            array = array.byteswap()
        return array

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
                unpickler = _RestrictedUnpickler(f, archive, prefix, path, on_storage)
                obj = unpickler.load()
    except (PthFormatError, UnsafePickleError):
        raise
    except zipfile.BadZipFile as err:
        raise PthFormatError(f'{path!r} is a damaged or truncated zip archive ({err}); '
                             're-download it.') from err
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, OverflowError, RecursionError, UnicodeError, struct.error,
            zlib.error) as err:
        # a flipped byte in the pickle: whatever the unpickler tripped on, the file is bad
        raise PthFormatError(f'{path!r} is corrupt: its data.pkl does not unpickle '
                             f'({type(err).__name__}: {err}). Re-download or re-save it.'
                             ) from None
    except MemoryError:
        # a corrupt length field asks for terabytes, or the file outgrows the memory
        raise PthFormatError(f'{path!r} needs more memory to read than this process can '
                             'get: a length in the file is corrupt, or the file is larger than '
                             'the memory. Re-download it, or free memory.') from None
    except (NotImplementedError, RuntimeError, OSError) as err:
        # zipfile's answers to damaged headers: unknown compression or version, an
        # "encrypted" flag, offsets before the start of the file
        raise PthFormatError(f'{path!r} is a damaged zip archive ({type(err).__name__}: '
                             f'{err}); re-download it.') from None
    _refuse_invalid_tensors(obj, path, unpickler.invalid_tensors)
    return obj


def _refuse_invalid_tensors(obj, path, invalid):
    """Raise :class:`PthFormatError` naming the first tensor whose geometry
    does not fit its storage (``state_dict.fc.weight``); ``invalid`` lists all
    such tensors the unpickler built, wherever the pickle put them."""
    if not invalid:
        return
    stack = [('', obj)]
    while stack:  # iterative: a crafted pickle can nest deeper than the recursion limit
        where, value = stack.pop()
        if value is invalid[0] or isinstance(value, _InvalidTensor):
            bad, name = value, where or '<root>'
            break
        if isinstance(value, dict):
            stack.extend((f'{where}.{k}' if where else str(k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((f'{where}.{i}' if where else str(i), v) for i, v in enumerate(value))
    else:
        bad, name = invalid[0], '<outside the state dict>'
    raise PthFormatError(
        f'{path!r}: tensor {name!r} {bad.reason}, so it is not a view of its data. The file '
        'is corrupt or crafted; mmcls_ms refuses it rather than read outside the data. '
        'Re-download it, or re-save it with torch.save(model.state_dict()).')


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
    try:
        state = _flatten(obj)
    except RecursionError:
        raise PthFormatError(f'{path!r} nests its dicts too deeply to be a state dict.') from None
    if not state:
        raise PthFormatError(f'{path!r} contains no tensors.')
    return state, meta
