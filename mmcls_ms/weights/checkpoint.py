"""Save and load mmcls_ms checkpoints: atomic writes, readable load reports.

A checkpoint is a MindSpore ``.ckpt`` (or ``.safetensors``) file holding

* the network parameters under their structural names
  (``backbone.features.0.conv.weight``, ...),
* optionally the optimizer's own state (moments, learning rate, step) under
  ``optimizer.<name>``,
* one JSON string, :data:`META_KEY`, with the ``meta`` dict (mmcls_ms version,
  config text, ``dataset_meta``, epoch, iter, scheduler and RNG states ...).

Example:
    >>> from mmcls_ms.weights.checkpoint import save_checkpoint, load_checkpoint
    >>> save_checkpoint(model, 'work_dirs/epoch_1.ckpt', meta=dict(epoch=1))  # doctest: +SKIP
    >>> report = load_checkpoint(model, 'work_dirs/epoch_1.ckpt')              # doctest: +SKIP
    >>> report.meta['epoch'], report.missing_keys                              # doctest: +SKIP
    (1, [])
"""
import io
import json
import logging
import os
import re
import struct
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmcls_ms.utils.logging import print_log
from mmcls_ms.version import __version__
from mmcls_ms.weights.download import download_checkpoint

META_KEY = 'mmcls_ms_meta'
OPTIMIZER_PREFIX = 'optimizer.'
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )

# Entries that training frameworks (MindCV, MindSpore's Model, our own engine)
# store next to the weights.  They are not network parameters: a plain weight
# load ignores them instead of reporting them as unexpected.
TRAINING_STATE_PATTERNS = (
    r'^optimizer\.', r'^moments\.', r'^accum\.', r'^adam_[mv]\.', r'^moment[12]\.',
    r'^ema\.', r'^global_step$', r'^learning_rate$', r'^momentum$', r'^beta[12]_power$',
    r'^scale_sense$', r'^current_iterator_step$', r'^last_overflow_iterator_step$',
    r'^epoch_num$', r'^step_num$', r'^loss_scale$')
_TRAINING_STATE_RE = re.compile('|'.join(TRAINING_STATE_PATTERNS))

# Checkpoint dtype names in MindSpore's protobuf format -> numpy.
_CKPT_DTYPES = {
    'Int8': np.int8, 'UInt8': np.uint8, 'Int16': np.int16, 'UInt16': np.uint16,
    'Int32': np.int32, 'UInt32': np.uint32, 'Int64': np.int64, 'UInt64': np.uint64,
    'Float16': np.float16, 'Float32': np.float32, 'Float64': np.float64, 'Bool': np.bool_}


# Parameters that make up the classifier rather than the feature extractor:
# the head and neck, and the classifiers VGG (``classifier``) and InceptionV3
# (``fc``, ``AuxLogits``) keep inside their backbones.
_HEAD_PARAMETER_RE = re.compile(r'^(head|neck)\.|^backbone\.(classifier|fc|AuxLogits)\.')


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or does not fit the model."""


class PartialCheckpointError(CheckpointError):
    """A checkpoint that leaves parameters of the model missing or mis-shaped."""


def is_head_parameter(name: str) -> bool:
    """Whether ``name`` belongs to the classifier (head, neck, or the
    classifier inside a VGG / InceptionV3 backbone), not the features.

    Example:
        >>> is_head_parameter('backbone.classifier.6.weight')
        True
        >>> is_head_parameter('backbone.features.0.conv.weight')
        False
    """
    return bool(_HEAD_PARAMETER_RE.match(name))


@dataclass
class LoadReport:
    """What :func:`load_checkpoint` did.

    ``mismatched_keys`` holds ``(name, checkpoint_shape, model_shape)``.
    ``ignored_keys`` are training-state entries (optimizer moments, EMA copies,
    step counters) that are not network parameters.
    """
    path: str = ''
    loaded_keys: List[str] = field(default_factory=list)
    missing_keys: List[str] = field(default_factory=list)
    unexpected_keys: List[str] = field(default_factory=list)
    mismatched_keys: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    ignored_keys: List[str] = field(default_factory=list)
    optimizer_keys: List[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys)

    @property
    def unfit_keys(self) -> List[str]:
        """Model parameters that kept their initial values: missing or mis-shaped."""
        return self.missing_keys + [name for name, _, _ in self.mismatched_keys]

    def summary(self) -> str:
        """One line: how much of the model the checkpoint filled."""
        total = len(self.loaded_keys) + len(self.missing_keys) + len(self.mismatched_keys)
        unfit = self.unfit_keys
        shown = ', '.join(unfit[:3]) + (', ...' if len(unfit) > 3 else '')
        return (f'{self.path} fits only part of the model: {len(self.loaded_keys)} of {total} '
                f'parameters loaded, {len(self.missing_keys)} missing and '
                f'{len(self.mismatched_keys)} mis-shaped ({shown})')

    def table(self) -> str:
        """A plain-text summary and a table of every key that did not load."""
        total = len(self.loaded_keys) + len(self.missing_keys) + len(self.mismatched_keys)
        lines = [f'Loaded {len(self.loaded_keys)}/{total} model parameters from {self.path}'
                 + (f' (+{len(self.optimizer_keys)} optimizer entries)'
                    if self.optimizer_keys else '')
                 + (f'; ignored {len(self.ignored_keys)} training-state entries'
                    if self.ignored_keys else '')]
        rows = ([(k, 'missing in checkpoint', '-', '-') for k in self.missing_keys]
                + [(k, 'unexpected (not in model)', '-', '-') for k in self.unexpected_keys]
                + [(k, 'shape mismatch', str(tuple(c)), str(tuple(m)))
                   for k, c, m in self.mismatched_keys])
        if rows:
            header = ('key', 'status', 'checkpoint shape', 'model shape')
            widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
            fmt = ' | '.join(f'{{:<{w}}}' for w in widths)
            lines += [fmt.format(*header), '-+-'.join('-' * w for w in widths)]
            lines += [fmt.format(*r) for r in rows]
        return '\n'.join(lines)


def _log(msg, level='INFO'):
    print_log(msg, level=getattr(logging, level))


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #
def _format_from_path(path, file_format):
    if file_format is None:
        file_format = 'safetensors' if str(path).endswith('.safetensors') else 'ckpt'
    if file_format not in ('ckpt', 'safetensors'):
        raise ValueError(f"file_format must be 'ckpt' or 'safetensors', got {file_format!r}")
    return file_format


def _fsync_path(path, directory=False):
    flags = os.O_RDONLY | (getattr(os, 'O_DIRECTORY', 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str, name: Optional[str] = None) -> List[str]:
    """Remove the temporary files (``.<name>.tmp-<pid>-*``) that writers killed
    mid-write left in ``folder``; only ``name``'s when given.  Files of a
    writer that is still alive are kept.  Returns the removed paths.

    Example:
        >>> remove_stale_temporaries('work_dirs/run1')  # doctest: +SKIP
        ['work_dirs/run1/.epoch_2.ckpt.tmp-4242-x1y2.ckpt']
    """
    base = re.escape(name) if name else r'.+?'
    pattern = re.compile(r'^\.' + base + r'\.tmp-(\d+)-')
    removed = []
    for entry in os.listdir(folder) if os.path.isdir(folder) else []:
        match = pattern.match(entry)
        if not match:
            continue
        pid = int(match.group(1))
        alive = pid == os.getpid()
        if not alive:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        if not alive:
            try:
                os.remove(os.path.join(folder, entry))
                removed.append(os.path.join(folder, entry))
            except OSError:
                pass
    return removed


def _remove_stale_temporaries(final_path):
    """Remove temporary files left by writers of ``final_path`` that were killed."""
    folder, base = os.path.split(os.path.abspath(final_path))
    remove_stale_temporaries(folder, base)


def save_state_dict(state: Dict[str, object], path: str, meta: Optional[dict] = None,
                    file_format: Optional[str] = None) -> str:
    """Atomically write a flat ``{name: array}`` dict plus ``meta`` to ``path``.

    The data goes to a temporary file in the same folder, is fsynced, then
    renamed over ``path`` (``os.replace``), so ``path`` always holds either the
    previous complete checkpoint or the new complete one.

    Example:
        >>> save_state_dict({'w': np.ones(3, np.float32)}, '/tmp/w.ckpt', meta={'epoch': 1})
        '/tmp/w.ckpt'
    """
    file_format = _format_from_path(path, file_format)
    meta_text = json.dumps(meta or {}, sort_keys=True)  # fails early if not serialisable
    if META_KEY in state:
        raise ValueError(f'{META_KEY!r} is reserved for the checkpoint meta')
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(path)
    suffix = '.safetensors' if file_format == 'safetensors' else '.ckpt'
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.tmp-{os.getpid()}-',
                               suffix=suffix, dir=folder)
    os.close(fd)
    try:
        if file_format == 'safetensors':
            from safetensors.numpy import save_file  # an optional extra
            arrays = {k: np.ascontiguousarray(_to_numpy(v)) for k, v in state.items()}
            # 'format': 'ms' lets mindspore.load_checkpoint(format='safetensors') read it too.
            save_file(arrays, tmp, metadata={'format': 'ms', META_KEY: meta_text})
        else:
            # MindSpore only to write a .ckpt: reading and converting weights needs none
            import mindspore as ms
            items = [{'name': k, 'data': v if isinstance(v, ms.Tensor) else ms.Tensor(
                np.ascontiguousarray(_to_numpy(v)))} for k, v in state.items()]
            # The meta is written last: a file cut at a record boundary lacks it.
            ms.save_checkpoint(items, tmp, append_dict={META_KEY: meta_text})
        os.chmod(tmp, 0o644)  # MindSpore leaves its files read-only
        _fsync_path(tmp)
        os.replace(tmp, path)
        _fsync_path(folder, directory=True)
    except BaseException:
        for leftover in (tmp, os.path.splitext(tmp)[0] + '.tmp'):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    return path


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, 'asnumpy'):
        return value.asnumpy()
    return np.asarray(value)


def _named_parameters(cell):
    return [(name, p) for name, p in cell.parameters_and_names()]


def _optimizer_state(optimizer, model):
    """The optimizer's own parameters: everything except the network weights it updates."""
    model_ids = {id(p) for _, p in model.parameters_and_names()} if model is not None else set()
    return [(name, p) for name, p in optimizer.parameters_and_names() if id(p) not in model_ids]


def save_checkpoint(model, path: str, meta: Optional[dict] = None, optimizer=None,
                    file_format: Optional[str] = None) -> str:
    """Save ``model`` (a ``mindspore.nn.Cell``) and ``meta`` atomically.

    Args:
        model: the network; its parameters are saved under their structural names.
        path: destination; ``.safetensors`` selects that format unless
            ``file_format`` says otherwise.
        meta: JSON-serialisable dict (epoch, iter, config text, dataset_meta, ...).
            ``mmcls_ms_version`` is added when absent.
        optimizer: optional MindSpore optimizer; its moments, learning rate and
            step are stored under ``optimizer.<name>``.
        file_format: ``'ckpt'`` (default) or ``'safetensors'``.

    Example:
        >>> save_checkpoint(net, 'work_dirs/epoch_3.ckpt', meta=dict(epoch=3, iter=300),
        ...                 optimizer=opt)  # doctest: +SKIP
    """
    meta = dict(meta or {})
    meta.setdefault('mmcls_ms_version', __version__)
    state = {name: p for name, p in _named_parameters(model)}
    if optimizer is not None:
        for name, p in _optimizer_state(optimizer, model):
            state[OPTIMIZER_PREFIX + name] = p
    return save_state_dict(state, path, meta=meta, file_format=file_format)


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #
def _read_varint(f):
    shift = result = 0
    while True:
        byte = f.read(1)
        if not byte:
            return None
        b = byte[0]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise CheckpointError('bad varint')


def sniff_format(path: str) -> str:
    """Guess a weight file's format from its first bytes.

    Returns ``'ckpt'``, ``'safetensors'``, ``'pth'`` (zip-based torch),
    ``'pth-legacy'`` (pre-1.6 torch pickle) or ``'unknown'``.
    """
    with open(path, 'rb') as f:
        head = f.read(16)
    if head[:4] == b'PK\x03\x04':
        return 'pth'
    if head[:1] == b'\x80' and len(head) > 1 and head[1] in (2, 3, 4, 5):
        return 'pth-legacy'
    if len(head) >= 9:
        (header_len, ) = struct.unpack('<Q', head[:8])
        if head[8:9] == b'{' and 0 < header_len < os.path.getsize(path):
            return 'safetensors'
    if head[:1] == b'\x0a':  # protobuf field 1 (Checkpoint.value), length-delimited
        return 'ckpt'
    return 'unknown'


def _check_file(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f'Checkpoint file not found: {path!r}. Check the path (it is relative to '
            f'{os.getcwd()!r}) or pass an http(s) URL.')
    if os.path.isdir(path):
        raise IsADirectoryError(f'Checkpoint path {path!r} is a folder; pass a .ckpt file.')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'Checkpoint file {path!r} is empty (0 bytes): the save was '
                              'interrupted or the download failed. Re-save or re-download it.')
    return path


def _iter_ckpt_records(path):
    """Yield ``(tag, start, end)`` byte ranges of each record of a MindSpore .ckpt.

    The file is a concatenation of ``Checkpoint`` protobuf messages, i.e. a run
    of field-1 records.  Walking the lengths finds a truncated file without
    reading the tensor data.
    """
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        while True:
            start = f.tell()
            if size - start == 17 and f.read(7) == b'crc_num':
                return  # MindSpore's crc_check=True trailer: 'crc_num' + 10 bytes
            f.seek(start)
            key = _read_varint(f)
            if key is None:
                return
            length = _read_varint(f)
            if key != 0x0A or length is None:
                raise CheckpointError(
                    f'{path!r} is not a MindSpore checkpoint (unexpected byte at offset '
                    f'{start}). Pass a .ckpt/.safetensors file written by mmcls_ms or '
                    'MindSpore; convert PyTorch files with tools/model_converters/convert.py.')
            body = f.tell()
            if body + length > size:
                raise CheckpointError(
                    f'Checkpoint file {path!r} is truncated: the record at byte {start} needs '
                    f'{body + length - size} more bytes than the file has ({size} bytes). '
                    'The save was interrupted or the download is incomplete; re-save or '
                    're-download it.')
            # Value.tag is field 1 and is written first.
            tag = ''
            head = f.read(min(length, 512))
            if head[:1] == b'\x0a':
                hf = io.BytesIO(head[1:])
                tag_len = _read_varint(hf)
                tag = hf.read(tag_len).decode('utf-8', errors='replace')
            f.seek(body + length)
            yield tag, start, body + length


def _parse_ckpt_value(raw, path):
    from mindspore.train.checkpoint_pb2 import Checkpoint  # MindSpore, only for a .ckpt
    msg = Checkpoint()
    try:
        msg.ParseFromString(raw)
    except Exception as err:  # protobuf's DecodeError
        raise CheckpointError(f'Checkpoint file {path!r} is corrupt ({err}); re-save or '
                              're-download it.') from err
    return msg.value[0]


def _read_ckpt(path, only_meta=False):
    chunks: Dict[str, list] = {}
    specs: Dict[str, tuple] = {}
    meta_text = None
    records = list(_iter_ckpt_records(path))
    if not records:
        raise CheckpointError(f'{path!r} holds no checkpoint records.')
    with open(path, 'rb') as f:
        for tag, start, end in records:
            if only_meta and tag != META_KEY:
                continue
            f.seek(start)
            raw = f.read(end - start)
            value = _parse_ckpt_value(raw, path)
            tensor = value.tensor
            if tensor.tensor_type == 'str':
                text = tensor.tensor_content.decode('utf-32-le').rstrip('\x00')
                if value.tag == META_KEY:
                    meta_text = text
                continue
            if value.HasField('maptensor'):
                continue
            dtype = _CKPT_DTYPES.get(tensor.tensor_type)
            if dtype is None:
                raise CheckpointError(
                    f'{path!r}: parameter {value.tag!r} has dtype {tensor.tensor_type}, which '
                    'mmcls_ms cannot read; re-save it as float32.')
            chunks.setdefault(value.tag, []).append(tensor.tensor_content)
            specs[value.tag] = (dtype, tuple(tensor.dims))
    state = {}
    for name, parts in chunks.items():
        dtype, dims = specs[name]
        flat = np.frombuffer(b''.join(parts), dtype=dtype)
        expected = int(np.prod(dims)) if dims else 1
        if flat.size != expected:
            raise CheckpointError(
                f'Checkpoint file {path!r} is corrupt: parameter {name!r} has {flat.size} '
                f'values for shape {dims}. Re-save or re-download it.')
        state[name] = flat.reshape(dims).copy()
    meta = json.loads(meta_text) if meta_text else None
    return state, meta


def _read_safetensors(path, only_meta=False):
    from safetensors import SafetensorError, safe_open  # an optional extra
    try:
        with safe_open(path, framework='np') as f:
            header = f.metadata() or {}
            state = {} if only_meta else {k: f.get_tensor(k) for k in f.keys()}
    except SafetensorError as err:
        raise CheckpointError(f'Safetensors file {path!r} is truncated or corrupt ({err}); '
                              're-save or re-download it.') from err
    meta = json.loads(header[META_KEY]) if META_KEY in header else None
    return state, meta


def _reader_for(path):
    kind = sniff_format(path)
    if kind == 'ckpt':
        return _read_ckpt
    if kind == 'safetensors':
        return _read_safetensors
    if kind in ('pth', 'pth-legacy'):
        raise CheckpointError(
            f'{path!r} is a PyTorch checkpoint. Convert it first: '
            f'`python tools/model_converters/convert.py {path} out.ckpt` or '
            '`mmcls_ms.weights.converters.convert_checkpoint(src, dst)`.')
    raise CheckpointError(
        f'{path!r} is not a checkpoint file mmcls_ms can read (neither a MindSpore .ckpt '
        'nor a .safetensors file). Check that you passed the right file.')


def read_checkpoint(path: str) -> Tuple[Dict[str, np.ndarray], dict]:
    """Read a .ckpt/.safetensors file into ``({name: numpy array}, meta)`` without a model.

    ``meta`` is ``{}`` for files that were not written by mmcls_ms (MindCV's, say).

    Example:
        >>> state, meta = read_checkpoint('work_dirs/epoch_1.ckpt')  # doctest: +SKIP
    """
    path = _check_file(path)
    state, meta = _reader_for(path)(path)
    return state, meta or {}


def read_checkpoint_meta(path: str) -> dict:
    """Read only the ``meta`` dict of a checkpoint (fast: the tensors are skipped).

    Example:
        >>> read_checkpoint_meta('work_dirs/epoch_1.ckpt')['epoch']  # doctest: +SKIP
        1
    """
    path = _check_file(path)
    _, meta = _reader_for(path)(path, only_meta=True)
    return meta or {}


def read_checkpoint_keys(path: str) -> List[str]:
    """The parameter names of a .ckpt/.safetensors file (fast: no tensor is read).

    Example:
        >>> read_checkpoint_keys('work_dirs/epoch_1.ckpt')[:1]  # doctest: +SKIP
        ['backbone.features.0.conv.weight']
    """
    path = _check_file(path)
    if _reader_for(path) is _read_ckpt:  # .ckpt: the record tags, without the tensors
        return [tag for tag, _, _ in _iter_ckpt_records(path) if tag != META_KEY]
    return list(read_checkpoint(path)[0])


# --------------------------------------------------------------------------- #
# Loading into a model
# --------------------------------------------------------------------------- #
def _revise(state, revise_keys):
    if not revise_keys:
        return state
    revised = {}
    for key, value in state.items():
        if not key.startswith(OPTIMIZER_PREFIX):
            for pattern, repl in revise_keys:
                key = re.sub(pattern, repl, key)
        revised[key] = value
    return revised


def _resolve(path_or_url):
    if re.match(r'^https?://', str(path_or_url)):
        return download_checkpoint(path_or_url)
    return os.fspath(path_or_url)


def _assign(param, array):
    import mindspore as ms  # loading into a model: MindSpore is there already
    # a private, writable copy: the arrays read from a file may be read-only
    # views of its bytes
    value = ms.Tensor(np.array(array, copy=True, order='C'), dtype=param.dtype)
    if tuple(param.shape) == tuple(value.shape):
        # in place: a graph compiled before the load keeps using the parameter's
        # old buffer if set_data() swaps it out
        ms.ops.assign(param, value)
    else:
        param.set_data(value)


def load_state_dict(model, state: Dict[str, np.ndarray], strict: bool = False,
                    optimizer=None, path: str = '<state dict>',
                    meta: Optional[dict] = None, logger: bool = True) -> LoadReport:
    """Copy a flat numpy state dict into ``model`` (and ``optimizer``); see
    :func:`load_checkpoint` for the rules.

    Example:
        >>> report = load_state_dict(net, {'fc.weight': w, 'fc.bias': b})  # doctest: +SKIP
    """
    report = LoadReport(path=path, meta=dict(meta or {}))
    params = _named_parameters(model)
    param_names = {name for name, _ in params}
    assignments = []
    for name, param in params:
        if name not in state:
            report.missing_keys.append(name)
            continue
        array = state[name]
        if tuple(array.shape) != tuple(param.shape):
            report.mismatched_keys.append((name, tuple(array.shape), tuple(param.shape)))
            continue
        assignments.append((param, array))
        report.loaded_keys.append(name)
    for key in state:
        if key in param_names:
            continue
        if _TRAINING_STATE_RE.match(key):
            report.ignored_keys.append(key)
        else:
            report.unexpected_keys.append(key)

    opt_assignments = []
    if optimizer is not None:
        problems = []
        for name, param in _optimizer_state(optimizer, model):
            key = OPTIMIZER_PREFIX + name
            if key not in state:
                problems.append(f'{key}: missing in checkpoint')
            elif tuple(state[key].shape) != tuple(param.shape):
                problems.append(f'{key}: checkpoint shape {tuple(state[key].shape)} != '
                                f'optimizer shape {tuple(param.shape)}')
            else:
                opt_assignments.append((param, state[key]))
                report.optimizer_keys.append(key)
        if problems:
            raise CheckpointError(
                f'Cannot restore the optimizer from {path!r}:\n  ' + '\n  '.join(problems)
                + '\nThe optimizer type or its parameter groups differ from the run that saved '
                'this checkpoint. Build the same optimizer, or load the weights only '
                '(load_checkpoint(model, path) without optimizer=) and start a fresh one.')

    if strict and not report.ok:
        hints = []
        if report.mismatched_keys:
            hints.append('for shape mismatches (e.g. a 1000-class checkpoint in a model with '
                         'another num_classes), pass strict=False to skip those parameters '
                         'and keep their initialisation, or build the model with matching '
                         'sizes')
        if report.missing_keys or report.unexpected_keys:
            hints.append('for missing/unexpected keys, check that the checkpoint belongs to '
                         'this model, use revise_keys=[(pattern, replacement)] to rename '
                         'keys, or pass strict=False')
        raise CheckpointError(f'Strict loading of {path!r} failed.\n{report.table()}\n'
                              f'What to do: {"; ".join(hints)}.')

    for param, array in assignments + opt_assignments:
        _assign(param, array)

    if logger:
        _log(report.table(), 'INFO' if report.ok else 'WARNING')
    if report.mismatched_keys:
        skipped = '; '.join(f'{name}: checkpoint {c} vs model {m}'
                            for name, c, m in report.mismatched_keys)
        warnings.warn(f'Skipped {len(report.mismatched_keys)} parameters of {path!r} whose '
                      f'shapes differ from the model; they keep their initial values '
                      f'({skipped}).', stacklevel=3)
    return report


def load_checkpoint(model, path_or_url: str, strict: bool = False,
                    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
                    optimizer=None, logger: bool = True) -> LoadReport:
    """Load a checkpoint into ``model`` and report what happened.

    Args:
        model: a ``mindspore.nn.Cell``.
        path_or_url: local ``.ckpt``/``.safetensors`` file, or an http(s) URL
            (downloaded with :func:`mmcls_ms.weights.download.download_checkpoint`).
        strict: raise :class:`CheckpointError` on any missing, unexpected or
            shape-mismatched key.  Otherwise mismatched parameters are skipped
            with a warning (this is how a 1000-class checkpoint fine-tunes a
            10-class model).
        revise_keys: ``[(regex, replacement)]`` applied to checkpoint keys
            (default strips a ``module.`` prefix).
        optimizer: also restore this optimizer's state (always strict).
        logger: log the report table through mmengine's current logger.

    Returns:
        :class:`LoadReport` with ``missing_keys``, ``unexpected_keys``,
        ``mismatched_keys`` and ``meta``.  Training-state entries (optimizer
        moments, ``global_step``, EMA copies; e.g. in MindCV files) are listed
        in ``ignored_keys``, not as unexpected.

    Example:
        >>> report = load_checkpoint(model, 'vgg16bn_converted.ckpt')  # doctest: +SKIP
        >>> report.missing_keys, report.mismatched_keys                  # doctest: +SKIP
        ([], [])
    """
    path = _resolve(path_or_url)
    state, meta = read_checkpoint(path)
    state = _revise(state, revise_keys)
    return load_state_dict(model, state, strict=strict, optimizer=optimizer, path=path,
                           meta=meta, logger=logger)


def require_complete(report: LoadReport, how_to_allow: str) -> None:
    """Refuse a load that left any model parameter missing or mis-shaped.

    ``how_to_allow`` tells the user how to say they mean it (a flag, an
    attribute).  The report table is logged before the error.

    Example:
        >>> require_complete(load_checkpoint(model, 'epoch_5.ckpt'),
        ...                  'pass --allow-partial-checkpoint')  # doctest: +SKIP
    """
    if not report.unfit_keys:
        return
    _log(report.table(), 'WARNING')
    raise PartialCheckpointError(
        f'{report.summary()}; those would keep random weights and the results would be '
        f'meaningless. Use the checkpoint that belongs to this config, or {how_to_allow} to '
        'evaluate it anyway.')


def require_backbone(report: LoadReport) -> None:
    """Refuse a load that left feature-extractor parameters missing or
    mis-shaped; warn, with the report table, about a head that does not fit
    (a checkpoint trained for another class count).

    Example:
        >>> require_backbone(load_checkpoint(model, 'vgg16.ckpt'))  # doctest: +SKIP
    """
    unfit = report.unfit_keys
    if not unfit:
        return
    _log(report.table(), 'WARNING')
    features = [name for name in unfit if not is_head_parameter(name)]
    if features:
        shown = ', '.join(features[:3]) + (', ...' if len(features) > 3 else '')
        raise PartialCheckpointError(
            f'{report.path} does not hold the backbone of this model: {len(features)} of its '
            f'feature parameters are missing or mis-shaped ({shown}). Pass the checkpoint '
            'of this architecture (convert torchvision / mmpretrain / MindCV files with '
            'tools/model_converters/convert.py), or the config that matches the checkpoint.')
    warnings.warn(
        f'{report.summary()}: the checkpoint has no head for this model, or one of other '
        'shapes (another number of classes?), so the head keeps random weights and the '
        'predictions are meaningless until it is trained. The table above lists the keys.',
        stacklevel=3)
