"""Pretrained weights for ``get_model``: download, verify, convert, cache, load.

``load_pretrained(model, 'https://.../x_20220615-dcd4d910.pth')``

1. fetches the file once into the cache (:mod:`mmcls_ms.weights.download`);
2. converts it, when it is not already an mmcls_ms checkpoint, from
   mmpretrain / torchvision ``.pth`` or MindCV ``.ckpt`` key layouts into
   mmcls_ms names (:mod:`mmcls_ms.weights.converters`);
3. caches the converted file under the sha256 of the source's bytes
   (``converted/<stem>-<sha256>.ckpt``), so a second call reads the
   converted file only (no request, no conversion), and a different file
   never gets another's entry, whatever its name, size or mtime;
4. loads it (non-strict, like mmpretrain) and returns the load report.

A downloaded file that turns out to be unreadable is deleted from the cache
and reported, so that the next call downloads it again.
"""
import json
import os
import re
import tempfile
from typing import Optional

from mmcls_ms.weights.checkpoint import (CheckpointError, load_checkpoint, load_state_dict,
                                         read_checkpoint, read_checkpoint_keys,
                                         read_checkpoint_meta, save_state_dict, sniff_format)
from mmcls_ms.weights.converters import convert_state_dict, has_native_keys, read_weights
from mmcls_ms.weights.download import (DownloadError, UrlMapping, cache_dir, download_checkpoint,
                                       remove_cached, sha256_of)

CONVERTED_DIR = 'converted'
# remembered hashes: {'<realpath>|<size>|<mtime_ns>|<ctime_ns>|<inode>': sha256}
HASH_INDEX = 'sha256-index.json'


def is_url(path: str) -> bool:
    """``http(s)://`` or ``file://``.

    Example:
        >>> is_url('https://x.org/w.pth'), is_url('w.pth')
        (True, False)
    """
    return bool(re.match(r'^(https?|file)://', str(path)))


def _stat_key(path: str) -> str:
    # ctime cannot be set by os.utime / cp -p / tar, so an in-place rewrite changes the key
    st = os.stat(path)
    return f'{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}'


def _read_hash_index(index_path: str) -> dict:
    try:
        with open(index_path) as f:
            index = json.load(f)
        return index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        return {}


def content_sha256(path: str) -> str:
    """The sha256 of a file's bytes, remembered per (path, size, mtime_ns,
    ctime_ns, inode) in the conversion cache so an unchanged file is hashed once.

    Example:
        >>> content_sha256('vgg16-397923af.pth')[:8]  # doctest: +SKIP
        '397923af'
    """
    key = _stat_key(path)
    folder = os.path.join(cache_dir(), CONVERTED_DIR)
    index_path = os.path.join(folder, HASH_INDEX)
    digest = _read_hash_index(index_path).get(key)
    if digest:
        return digest
    digest = sha256_of(path)
    if _stat_key(path) != key:  # changed while hashing: do not remember it
        return digest
    os.makedirs(folder, exist_ok=True)
    index = _read_hash_index(index_path)  # re-read: another process may have added entries
    index[key] = digest
    fd, tmp = tempfile.mkstemp(prefix=f'.{HASH_INDEX}.', dir=folder)
    with os.fdopen(fd, 'w') as f:
        json.dump(index, f)
    os.replace(tmp, index_path)
    return digest


def converted_path_of(raw_path: str) -> str:
    """Where the converted copy of ``raw_path`` lives in the cache: keyed by
    the sha256 of its bytes, the name kept for people reading the folder.

    Example:
        >>> converted_path_of('finetuned.pth')  # doctest: +SKIP
        '~/.cache/mmcls_ms/checkpoints/converted/finetuned-9f86d0...0a08.ckpt'
    """
    stem = os.path.splitext(os.path.basename(raw_path))[0]
    return os.path.join(cache_dir(), CONVERTED_DIR,
                        f'{stem}-{content_sha256(raw_path)}.ckpt')


def _carry_over_extra_keys(state, converted, meta):
    """Keep the ``neck.*`` / ``head.*`` tensors of an mmpretrain-layout file.

    The converters map the backbones of the model family; a fine-tuned
    mmpretrain model (e.g. VGG features + ``GlobalAveragePooling`` +
    ``LinearClsHead``) also has head weights.  Their names are already
    mmcls_ms names, except BN, which gets MindSpore's names.
    """
    src_format = (meta.get('converted_from') or {}).get('format')
    if src_format not in ('mmpretrain', 'mmcls_ms'):
        return converted
    bn_prefixes = {k[:-len('.running_mean')] for k in state if k.endswith('.running_mean')}
    renames = dict(weight='gamma', bias='beta', running_mean='moving_mean',
                   running_var='moving_variance')
    for key, value in state.items():
        if not key.startswith(('neck.', 'head.')) or key in converted:
            continue
        prefix, _, leaf = key.rpartition('.')
        if leaf == 'num_batches_tracked':
            continue
        if prefix in bn_prefixes and leaf in renames:
            key = f'{prefix}.{renames[leaf]}'
        converted[key] = value
    return converted


def _detect_and_convert(raw_path: str):
    """Read ``raw_path`` (mmpretrain / torchvision ``.pth``, MindCV ``.ckpt``,
    mmcls_ms ``.ckpt``); returns ``(state, meta)`` in mmcls_ms names."""
    state, src_meta = read_weights(raw_path)
    converted, meta = convert_state_dict(state, src_meta=src_meta)
    converted = _carry_over_extra_keys(state, converted, meta)
    return converted, meta


def _is_native(path: str) -> bool:
    """An mmcls_ms checkpoint needs no conversion: it carries our meta record,
    or (saved by ``mindspore.save_checkpoint``, without it) our key names."""
    try:
        if sniff_format(path) not in ('ckpt', 'safetensors'):
            return False
        return bool(read_checkpoint_meta(path)) or has_native_keys(read_checkpoint_keys(path))
    except Exception:  # unreadable here: the converter gives the clear error
        return False


def prepare_checkpoint(path_or_url: str, mirror: Optional[str] = None,
                       url_mapping: UrlMapping = None, progress: bool = True) -> str:
    """Return a local mmcls_ms-layout checkpoint for ``path_or_url``.

    URLs are downloaded into the cache (once); a file in another layout is
    converted once into the cache, keyed by the sha256 of its bytes; an
    mmcls_ms checkpoint is used as it is.

    Example:
        >>> prepare_checkpoint('https://download.mindspore.cn/toolkits/mindcv/vgg/'
        ...                    'vgg11-ef31d161.ckpt')  # doctest: +SKIP
        '~/.cache/mmcls_ms/checkpoints/converted/vgg11-ef31d161-ef31d161...ckpt'
    """
    path_or_url = os.fspath(path_or_url)
    if is_url(path_or_url):
        raw_path = download_checkpoint(path_or_url, mirror=mirror, url_mapping=url_mapping,
                                       progress=progress)
        downloaded = True  # a file in the download cache: removed if unreadable
    else:
        raw_path = os.path.expanduser(path_or_url)
        if not os.path.isfile(raw_path):
            raise FileNotFoundError(
                f'Checkpoint file {raw_path!r} does not exist. Pass an existing .ckpt / .pth / '
                '.safetensors file, a URL, or pretrained=True for the model zoo weights.')
        downloaded = False

    if _is_native(raw_path):
        return raw_path
    converted = converted_path_of(raw_path)
    if os.path.isfile(converted):
        return converted
    try:
        state, meta = _detect_and_convert(raw_path)
    except Exception as e:
        if downloaded:
            # a corrupt download must not stay in the cache
            remove_cached(raw_path)
            raise DownloadError(
                f'The file downloaded from {path_or_url} is not a readable checkpoint '
                f'({type(e).__name__}: {e}). It was removed from the cache; try again, or '
                'check the mirror / URL mapping.') from None
        raise
    meta = dict(meta or {})
    meta.setdefault('converted_from', path_or_url)
    save_state_dict(state, converted, meta=meta)
    return converted


def checkpoint_meta(path: str) -> dict:
    """The meta of a prepared (mmcls_ms-layout) checkpoint."""
    return read_checkpoint_meta(path)


def load_pretrained(model, path_or_url: str, mirror: Optional[str] = None,
                    url_mapping: UrlMapping = None, progress: bool = True, logger: bool = False,
                    prefix: Optional[str] = None):
    """Load weights (a path or URL, any supported layout) into ``model``;
    returns the :class:`~mmcls_ms.weights.checkpoint.LoadReport`.

    ``prefix`` (mmengine's ``Pretrained`` init) keeps only the checkpoint keys
    under it and strips it, e.g. ``'backbone'`` loads ``backbone.features.0...``
    of a whole-classifier checkpoint as ``features.0...`` into a backbone.

    Example:
        >>> report = load_pretrained(net, 'work_dirs/epoch_10.ckpt')  # doctest: +SKIP
        >>> report.meta.get('dataset_meta')                          # doctest: +SKIP
        >>> load_pretrained(vgg_backbone, 'vgg11.pth', prefix='backbone')  # doctest: +SKIP
    """
    local = prepare_checkpoint(path_or_url, mirror=mirror, url_mapping=url_mapping,
                               progress=progress)
    if not prefix:
        return load_checkpoint(model, local, strict=False, logger=logger)
    state, meta = read_checkpoint(local)
    head = prefix if prefix.endswith('.') else prefix + '.'
    selected = {k[len(head):]: v for k, v in state.items() if k.startswith(head)}
    if not selected:
        tops = sorted({k.split('.', 1)[0] for k in state})
        raise CheckpointError(
            f'{path_or_url} has no parameters under prefix {prefix!r}; its top-level names '
            f'are {tops}. Use one of them as prefix=, or no prefix.')
    return load_state_dict(model, selected, strict=False, path=local, meta=meta, logger=logger)
