"""Fuzz driver for the .pth reader, run in a subprocess by test_pth_fuzz.py
(a crash there must not take pytest down).

``python pth_fuzz.py WORK_DIR`` writes real ``.pth`` files (tests/test_apis/
pth_writer.py), damages them (truncations, byte flips of the file, byte flips
of the pickle in a re-packed valid zip) and crafts tensors with hostile
geometry, reads each with ``load_pth_state_dict`` and prints one JSON line per
case: ``{"case": ..., "outcome": <exception class name or "ok">, "message": ...}``.
Deterministic: fixed seeds.  Address space is capped so that a runaway
allocation is a MemoryError, not a machine out of memory.
"""
import json
import os
import random
import resource
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'test_apis'))

import numpy as np  # noqa: E402
from pth_writer import write_pth  # noqa: E402

from mmcls_ms.weights.pth_reader import load_pth_state_dict  # noqa: E402

ADDRESS_SPACE_LIMIT = 3 << 30


def real_checkpoint(path):
    rng = np.random.default_rng(0)
    state = {'backbone.conv.weight': rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
             'backbone.bn.running_mean': rng.standard_normal(8).astype(np.float32),
             'backbone.bn.num_batches_tracked': np.array(7, np.int64),
             'head.fc.weight': rng.standard_normal((10, 8)).astype(np.float16),
             'head.fc.bias': np.arange(10, dtype=np.int32)}
    write_pth(path, {'state_dict': state, 'meta': {'epoch': 3, 'classes': ['a', 'b'],
                                                   'lr': 0.1, 'flags': (True, None)}})
    return state


def _text(value):
    raw = value.encode()
    return b'X' + struct.pack('<I', len(raw)) + raw


def _int(value):
    if isinstance(value, bool):
        return b'\x88' if value else b'\x89'
    if isinstance(value, float):
        return b'G' + struct.pack('>d', value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, 'little', signed=True) or b'\x00'
    return b'\x8a' + bytes([len(raw)]) + raw  # LONG1: any size, any sign


def _tuple(values):
    return b'(' + b''.join(_int(v) for v in values) + b't'


def hostile_pickle(numel, offset, size, stride, storage='FloatStorage'):
    """``{'state_dict': {'fc.weight': <tensor of this geometry on storage '0'>}}``."""
    out = b'\x80\x02}' + _text('state_dict') + b'}' + _text('fc.weight')
    out += b'ctorch._utils\n_rebuild_tensor_v2\n('
    out += b'(' + _text('storage') + f'ctorch\n{storage}\n'.encode() + _text('0')
    out += _text('cpu') + _int(numel) + b'tQ'
    out += _int(offset) + (_tuple(size) if isinstance(size, tuple) else _int(size))
    out += _tuple(stride) if isinstance(stride, tuple) else _int(stride)
    out += b'\x89ccollections\nOrderedDict\n)RtR' + b'ss.'
    return out


def write_archive(path, pickled, storages):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pickled)
        z.writestr('archive/byteorder', 'little')
        for key, raw in storages.items():
            z.writestr(f'archive/data/{key}', raw)
        z.writestr('archive/version', '3\n')


GEOMETRIES = {  # name: (numel, offset, size, stride); the storage holds 12 float32
    'negative_offset': (12, -4, (3,), (1,)),
    'negative_stride': (12, 11, (3,), (-1,)),
    'negative_size': (12, 0, (-3, 4), (4, 1)),
    'offset_past_end': (12, 12, (1,), (1,)),
    'reaches_past_end': (12, 2, (3, 4), (4, 1)),
    'stride_past_end': (12, 0, (2, 2), (100, 1)),
    'huge_size': (12, 0, (1 << 62,), (1,)),
    'huge_stride': (12, 0, (2,), (1 << 62,)),
    'overflowing_offset': (12, 1 << 64, (1,), (1,)),
    'overflowing_product': (12, 0, (1 << 32, 1 << 32), (0, 0)),
    'wraps_int64': (12, 0, (2, 2), ((1 << 64) - 1, 1)),
    'expands_storage_hugely': (12, 0, (1 << 20, 1 << 20), (0, 0)),
    'dims_differ': (12, 0, (3, 4), (1,)),
    'float_size': (12, 0, (3.0,), (1,)),
    'not_a_tuple': (12, 0, 3, (1,)),
    'numel_beyond_bytes': (1 << 40, 0, (3,), (1,)),
    'negative_numel': (-1, 0, (3,), (1,)),
    'scalar_past_end': (12, 12, (), ()),
}


def run(case, path, results):
    try:
        state, _ = load_pth_state_dict(path)
        outcome, message = 'ok', ','.join(sorted(state))
    except Exception as err:  # the test checks which classes occur
        outcome, message = type(err).__name__, str(err)[:400]
    results.append(dict(case=case, outcome=outcome, message=message))
    print(json.dumps(results[-1]), flush=True)


def main(work):
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    results = []
    good = os.path.join(work, 'good.pth')
    real_checkpoint(good)
    data = open(good, 'rb').read()
    run('intact', good, results)
    bad = os.path.join(work, 'bad.pth')
    storage = np.arange(12, dtype=np.float32).tobytes()
    for name, (numel, offset, size, stride) in GEOMETRIES.items():
        write_archive(bad, hostile_pickle(numel, offset, size, stride), {'0': storage})
        run(f'geometry:{name}', bad, results)

    rng = random.Random(19)
    for cut in sorted(rng.sample(range(1, len(data)), 40)):
        with open(bad, 'wb') as f:
            f.write(data[:cut])
        run(f'truncate:{cut}', bad, results)
    for i in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        with open(bad, 'wb') as f:
            f.write(mutated)
        run(f'flip_file:{i}', bad, results)

    # flips inside the pickle, re-packed with valid CRCs so the unpickler sees them
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    pickled = members['archive/data.pkl']
    storages = {n.rsplit('/', 1)[1]: v for n, v in members.items() if '/data/' in n}
    for i in range(250):
        mutated = bytearray(pickled)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(mutated))
            mutated[position] = rng.randrange(256) if rng.random() < 0.5 else \
                mutated[position] ^ (1 << rng.randrange(8))
        write_archive(bad, bytes(mutated), storages)
        run(f'flip_pickle:{i}', bad, results)
    for i in range(30):  # truncated storages behind an intact pickle
        cut_storages = {k: v[:rng.randrange(len(v))] for k, v in storages.items()}
        write_archive(bad, pickled, cut_storages)
        run(f'short_storage:{i}', bad, results)


if __name__ == '__main__':
    main(sys.argv[1])
