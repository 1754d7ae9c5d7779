"""Pretrained weights for ``get_model``: download, verify, convert, cache, load.

``load_pretrained(model, 'https://.../x_20220615-dcd4d910.pth')``

1. fetches the file once into the cache (:mod:`mmcls_ms.weights.download`);
2. converts it, when it is not already an mmcls_ms checkpoint, from
   mmpretrain / torchvision ``.pth`` or MindCV ``.ckpt`` key layouts into
   mmcls_ms names (:mod:`mmcls_ms.weights.converters`);
3. caches the converted file next to it (``converted/<stem>.ckpt``), so a
   second call reads the converted file only: no request, no conversion;
4. loads it (non-strict, like mmpretrain) and returns the load report.

A downloaded file that turns out to be unreadable is deleted from the cache
and reported, so that the next call downloads it again.
"""
import os
import re
from typing import Optional

from mmcls_ms.weights.checkpoint import (load_checkpoint, read_checkpoint_meta, save_state_dict,
                                       sniff_format)
from mmcls_ms.weights.converters import convert_state_dict, read_weights
from mmcls_ms.weights.download import (DownloadError, UrlMapping, cache_dir, download_checkpoint,
                                     file_name_of, remove_cached)

CONVERTED_DIR = 'converted'


def is_url(path: str) -> bool:
    return bool(re.match(r'^(https?|file)://', str(path)))


def converted_path_of(raw_path: str) -> str:
    """Where the converted copy of a cached raw checkpoint lives."""
    folder, name = os.path.split(raw_path)
    stem = os.path.splitext(name)[0]
    return os.path.join(folder, CONVERTED_DIR, stem + '.ckpt')


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
    """An mmcls_ms checkpoint (it carries our meta record) needs no conversion."""
    try:
        if sniff_format(path) not in ('ckpt', 'safetensors'):
            return False
        return bool(read_checkpoint_meta(path))
    except Exception:  # unreadable here: the converter gives the clear error
        return False


def prepare_checkpoint(path_or_url: str, mirror: Optional[str] = None,
                       url_mapping: UrlMapping = None, progress: bool = True) -> str:
    """Return a local mmcls_ms-layout checkpoint for ``path_or_url``.

    URLs are downloaded into the cache and converted once (both cached).  A
    local file in another layout is converted once into the cache
    (``converted/local/``, keyed by its name, modification time and size);
    an mmcls_ms checkpoint is used as it is.

    Example:
        >>> prepare_checkpoint('https://download.mindspore.cn/toolkits/mindcv/vgg/'
        ...                    'vgg11-ef31d161.ckpt')  # doctest: +SKIP
        '~/.cache/mmcls_ms/checkpoints/converted/vgg11-ef31d161.ckpt'
    """
    path_or_url = os.fspath(path_or_url)
    if is_url(path_or_url):
        folder = cache_dir()
        raw_path = os.path.join(folder, file_name_of(path_or_url))
        converted = converted_path_of(raw_path)
        if os.path.isfile(converted):
            return converted
        raw_path = download_checkpoint(path_or_url, mirror=mirror, url_mapping=url_mapping,
                                       progress=progress)
        downloaded = True
    else:
        raw_path = os.path.expanduser(path_or_url)
        if not os.path.isfile(raw_path):
            raise FileNotFoundError(
                f'Checkpoint file {raw_path!r} does not exist. Pass an existing .ckpt / .pth / '
                '.safetensors file, a URL, or pretrained=True for the model zoo weights.')
        if _is_native(raw_path):
            return raw_path
        stat = os.stat(raw_path)
        stem = os.path.splitext(os.path.basename(raw_path))[0]
        # keyed by modification time and size: an edited file is converted again
        tag = f'{stem}-{int(stat.st_mtime)}-{stat.st_size}'
        converted = os.path.join(cache_dir(), CONVERTED_DIR, 'local', tag + '.ckpt')
        if os.path.isfile(converted):
            return converted
        downloaded = False

    if _is_native(raw_path):
        return raw_path
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
                    url_mapping: UrlMapping = None, progress: bool = True, logger: bool = False):
    """Load weights (a path or URL, any supported layout) into ``model``;
    returns the :class:`~mmcls_ms.weights.checkpoint.LoadReport`.

    Example:
        >>> report = load_pretrained(net, 'work_dirs/epoch_10.ckpt')  # doctest: +SKIP
        >>> report.meta.get('dataset_meta')                          # doctest: +SKIP
    """
    local = prepare_checkpoint(path_or_url, mirror=mirror, url_mapping=url_mapping,
                               progress=progress)
    return load_checkpoint(model, local, strict=False, logger=logger)
