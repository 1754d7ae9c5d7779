"""Write PyTorch zip-format ``.pth`` files without torch (test helper).

``torch.save`` writes a zip archive: ``<name>/data.pkl`` is a pickle in which
each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, OrderedDict())`` and each storage is a persistent id
``('storage', torch.FloatStorage, key, 'cpu', numel)`` whose bytes are the
archive member ``<name>/data/<key>``.  The pickle opcodes are emitted by hand,
so no fake ``torch`` module is ever imported.

Example:
    >>> write_pth('/tmp/w.pth', {'state_dict': {'fc.weight': np.ones((2, 3), np.float32)}})
"""
import struct
import zipfile

import numpy as np

_STORAGE_NAMES = {np.dtype(np.float32): 'FloatStorage', np.dtype(np.float64): 'DoubleStorage',
                  np.dtype(np.float16): 'HalfStorage', np.dtype(np.int64): 'LongStorage',
                  np.dtype(np.int32): 'IntStorage', np.dtype(np.uint8): 'ByteStorage',
                  np.dtype(np.bool_): 'BoolStorage'}


class _Emitter:
    def __init__(self):
        self.out = bytearray(b'\x80\x02')  # PROTO 2
        self.storages = []  # (key, bytes)

    def str_(self, s):
        data = s.encode('utf-8')
        self.out += b'X' + struct.pack('<I', len(data)) + data

    def global_(self, module, name):
        self.out += b'c' + f'{module}\n{name}\n'.encode()

    def int_(self, i):
        if -2 ** 31 <= i < 2 ** 31:
            self.out += b'J' + struct.pack('<i', i)
        else:
            raw = i.to_bytes((i.bit_length() + 8) // 8, 'little', signed=True)
            self.out += b'\x8a' + bytes([len(raw)]) + raw

    def tuple_(self, items):
        self.out += b'('
        for item in items:
            self.obj(item)
        self.out += b't'

    def tensor(self, array):
        array = np.ascontiguousarray(array)
        storage = _STORAGE_NAMES[array.dtype]
        key = str(len(self.storages))
        self.storages.append((key, array.tobytes()))
        self.global_('torch._utils', '_rebuild_tensor_v2')
        self.out += b'('  # MARK: the args tuple
        # persistent id of the storage
        self.out += b'('
        self.str_('storage')
        self.global_('torch', storage)
        self.str_(key)
        self.str_('cpu')
        self.int_(int(array.size))
        self.out += b't' + b'Q'  # TUPLE, BINPERSID
        self.int_(0)
        self.tuple_(array.shape)
        strides = tuple(s // array.itemsize for s in array.strides) if array.ndim else ()
        self.tuple_(strides)
        self.out += b'\x89'  # NEWFALSE: requires_grad
        self.global_('collections', 'OrderedDict')
        self.out += b')R'  # EMPTY_TUPLE, REDUCE -> OrderedDict()
        self.out += b't' + b'R'  # TUPLE, REDUCE -> tensor

    def obj(self, value):
        if isinstance(value, np.ndarray):
            self.tensor(value)
        elif isinstance(value, dict):
            self.out += b'}('
            for k, v in value.items():
                self.obj(k)
                self.obj(v)
            self.out += b'u'
        elif isinstance(value, list):
            self.out += b']('
            for v in value:
                self.obj(v)
            self.out += b'e'
        elif isinstance(value, tuple):
            self.tuple_(value)
        elif isinstance(value, bool):
            self.out += b'\x88' if value else b'\x89'
        elif isinstance(value, int):
            self.int_(value)
        elif isinstance(value, float):
            self.out += b'G' + struct.pack('>d', value)
        elif isinstance(value, str):
            self.str_(value)
        elif value is None:
            self.out += b'N'
        else:
            raise TypeError(f'cannot write {type(value).__name__} into a .pth')


def write_pth(path, obj, archive_name='archive'):
    """Write ``obj`` (dicts/lists of numpy arrays and plain values) as a
    zip-format PyTorch file that ``torch.load`` and mmcls_ms' reader accept."""
    emitter = _Emitter()
    emitter.obj(obj)
    emitter.out += b'.'  # STOP
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
        archive.writestr(f'{archive_name}/data.pkl', bytes(emitter.out))
        archive.writestr(f'{archive_name}/byteorder', 'little')
        for key, data in emitter.storages:
            archive.writestr(f'{archive_name}/data/{key}', data)
        archive.writestr(f'{archive_name}/version', '3\n')
    return path
