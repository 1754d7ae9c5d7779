"""Cached, verified checkpoint downloads with mirrors.

A URL is fetched once into the cache folder (``$MMCLS_MS_HOME/checkpoints``,
by default ``~/.cache/mmcls_ms/checkpoints``) under the file name of the URL,
so a file can also be put there by hand on a machine without network.

- The download goes to a hidden temporary file in the cache folder and is
  renamed into place only once complete and verified: an interrupted or bad
  download never leaves a file that a later call would trust.
- OpenMMLab and MindCV put the start of the file's sha256 in its name
  (``..._20220615-dcd4d910.pth``, ``inception_v3-38f67890.ckpt``); it is
  checked, and a mismatch deletes the file and raises :class:`ChecksumError`.
- Mirrors: ``mirror=`` / ``$MMCLS_MS_MIRROR`` is a folder or a base URL that
  holds the files under the same names; ``url_mapping=`` /
  ``$MMCLS_MS_URL_MAPPING`` rewrites URLs with regular expressions
  (``'https://download.openmmlab.com/=>http://intranet/openmmlab/'``).
- Network problems raise :class:`DownloadError`, whose message names the URL,
  the cache path where the file can be placed by hand, and the mirror options.

Example:
    >>> from mmcls_ms.weights.download import download_checkpoint
    >>> path = download_checkpoint(  # doctest: +SKIP
    ...     'https://download.mindspore.cn/toolkits/mindcv/vgg/vgg11-ef31d161.ckpt')
"""
import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException
from typing import Optional, Sequence, Tuple, Union

from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)

from mmcls_ms.utils.home import DEFAULT_HOME, HOME_ENV, mmcls_ms_home

MIRROR_ENV = 'MMCLS_MS_MIRROR'
URL_MAPPING_ENV = 'MMCLS_MS_URL_MAPPING'

# the last "-<hex>" group of the stem: "_20220615-dcd4d910.pth",
# "inception_v3-38f67890.ckpt", "inception_v3-61a8e9ed-910v2.ckpt"
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})(?:-[0-9A-Za-z]+)?\.[A-Za-z]+$')
_CHUNK = 1 << 20

UrlMapping = Union[None, str, Tuple[str, str], Sequence[Tuple[str, str]]]


class DownloadError(RuntimeError):
    """A checkpoint could not be fetched; the message says what to do."""


class ChecksumError(DownloadError):
    """The fetched file does not match the sha256 prefix in its name."""


def cache_dir() -> str:
    """The folder of cached checkpoints: ``$MMCLS_MS_HOME/checkpoints``.

    Example:
        >>> cache_dir().endswith('checkpoints')
        True
    """
    return mmcls_ms_home('checkpoints')


def file_name_of(url: str) -> str:
    """The file name a URL is cached under (query and fragment dropped).

    Example:
        >>> file_name_of('https://x.org/a/vgg11-ef31d161.ckpt?dl=1')
        'vgg11-ef31d161.ckpt'
    """
    path = urllib.parse.urlparse(url).path if '://' in url else url
    name = os.path.basename(path)
    if not name:
        raise DownloadError(f'The URL {url!r} names no file; a checkpoint URL must end '
                            'with its file name, e.g. ".../vgg11-ef31d161.ckpt".')
    return name


def hash_prefix_of(file_name: str) -> Optional[str]:
    """The sha256 prefix embedded in an OpenMMLab / MindCV / torchvision file
    name, or None.

    Example:
        >>> hash_prefix_of('inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth')
        'dcd4d910'
        >>> hash_prefix_of('inception_v3-61a8e9ed-910v2.ckpt')
        '61a8e9ed'
        >>> hash_prefix_of('my_weights.ckpt') is None
        True
    """
    match = _HASH_IN_NAME.search(os.path.basename(file_name))
    return match.group(1) if match else None


def sha256_of(path: str) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def parse_url_mapping(url_mapping: UrlMapping) -> list:
    """Normalise a URL mapping into a list of ``(regex, replacement)``.

    Accepts a ``(regex, replacement)`` pair (mmpretrain's form), a list of
    pairs, or a string ``'regex=>replacement'`` with pairs separated by ``;``
    (the form of ``$MMCLS_MS_URL_MAPPING``).

    Example:
        >>> parse_url_mapping('https://a.org/=>http://127.0.0.1:8000/')
        [('https://a.org/', 'http://127.0.0.1:8000/')]
    """
    if not url_mapping:
        return []
    if isinstance(url_mapping, str):
        pairs = []
        for item in filter(None, (s.strip() for s in url_mapping.split(';'))):
            if '=>' not in item:
                raise ValueError(
                    f'Bad URL mapping {item!r}: write "regex=>replacement", several '
                    'separated by ";" (in the argument url_mapping or the environment '
                    f'variable {URL_MAPPING_ENV}).')
            pattern, replacement = item.split('=>', 1)
            pairs.append((pattern, replacement))
        return pairs
    if (isinstance(url_mapping, (tuple, list)) and len(url_mapping) == 2
            and all(isinstance(s, str) for s in url_mapping)):
        return [tuple(url_mapping)]
    return [tuple(pair) for pair in url_mapping]


def resolve_source(url: str, mirror: Optional[str] = None,
                   url_mapping: UrlMapping = None) -> str:
    """Where ``url`` is really fetched from, after the URL mapping and the mirror.

    The argument wins over the environment variable, for each of the two.  A
    mirror replaces everything before the file name.

    Example:
        >>> resolve_source('https://a.org/x/w-0123abcd.pth', mirror='/srv/weights')
        '/srv/weights/w-0123abcd.pth'
    """
    mapping = parse_url_mapping(url_mapping or os.environ.get(URL_MAPPING_ENV))
    source = url
    for pattern, replacement in mapping:
        source = re.sub(pattern, replacement, source)
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if mirror:
        name = file_name_of(url)
        if '://' in mirror:
            source = mirror.rstrip('/') + '/' + name
        else:
            source = os.path.join(os.path.expanduser(mirror), name)
    return source


def _how_to_fix(url: str, cached_path: str) -> str:
    return (f'To use these weights without network, download {url} elsewhere and place '
            f'the file at {cached_path} (the cache: ${HOME_ENV}/checkpoints, default '
            f'{os.path.join(DEFAULT_HOME, "checkpoints")}). Or fetch from a mirror: a folder '
            f'or base URL holding the same file name, with ${MIRROR_ENV} or the `mirror` '
            f'argument (demo: --mirror); or rewrite URLs with ${URL_MAPPING_ENV}='
            '"regex=>replacement" or the `url_mapping` argument.')


def _progress():
    return Progress(TextColumn('[bold blue]{task.description}'), BarColumn(),
                    DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())


def _copy_stream(reader, writer, total, description, progress):
    """Copy ``reader`` into ``writer`` while hashing; returns (bytes, sha256)."""
    digest = hashlib.sha256()
    received = 0
    bar = _progress() if progress else None
    task = bar.add_task(description, total=total) if bar else None
    try:
        if bar:
            bar.start()
        while True:
            chunk = reader.read(_CHUNK)
            if not chunk:
                break
            writer.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if bar:
                bar.update(task, advance=len(chunk))
    finally:
        if bar:
            bar.stop()
    return received, digest.hexdigest()


def _fetch(source: str, url: str, target, cached_path: str, timeout: float, progress: bool):
    """Write the bytes at ``source`` into the open file ``target``."""
    name = file_name_of(url)
    if '://' not in source or source.startswith('file://'):
        local = urllib.parse.urlparse(source).path if source.startswith('file://') else source
        if not os.path.isfile(local):
            raise DownloadError(f'The mirror has no file {local} (for {url}). '
                                + _how_to_fix(url, cached_path))
        with open(local, 'rb') as reader:
            return _copy_stream(reader, target, os.path.getsize(local), name, progress)
    shown = source if source == url else f'{source} (mirror of {url})'
    try:
        request = urllib.request.Request(source, headers={'User-Agent': 'mmcls_ms'})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get('Content-Length')
            total = int(length) if length and length.isdigit() else None
            received, digest = _copy_stream(response, target, total, name, progress)
    except urllib.error.HTTPError as e:
        raise DownloadError(f'Downloading {shown} failed: HTTP {e.code} {e.reason}. '
                            + _how_to_fix(url, cached_path)) from None
    except urllib.error.URLError as e:
        raise DownloadError(f'Cannot reach {shown}: {e.reason}. The network or the server '
                            'is unreachable. ' + _how_to_fix(url, cached_path)) from None
    except (HTTPException, OSError) as e:  # IncompleteRead, reset, timeout
        raise DownloadError(f'The download of {shown} broke off ({type(e).__name__}: {e}). '
                            'Try again. ' + _how_to_fix(url, cached_path)) from None
    if total is not None and received != total:
        raise DownloadError(f'The download of {shown} is incomplete: got {received} of '
                            f'{total} bytes. Try again. ' + _how_to_fix(url, cached_path))
    return received, digest


def download_checkpoint(url: str, cache_folder: Optional[str] = None,
                        mirror: Optional[str] = None, url_mapping: UrlMapping = None,
                        check_hash: bool = True, progress: bool = True,
                        timeout: float = 60.0) -> str:
    """Fetch ``url`` into the cache once and return the local path.

    A file already in the cache is returned as it is, without a request and
    without re-hashing (a file placed there by hand is trusted).

    Args:
        url: the published URL; its file name is the cache name.
        cache_folder: defaults to :func:`cache_dir`.
        mirror: a folder or base URL with the same file names
            (default ``$MMCLS_MS_MIRROR``).
        url_mapping: ``(regex, replacement)`` pair(s) or ``'regex=>repl'``
            (default ``$MMCLS_MS_URL_MAPPING``).
        check_hash: verify the sha256 prefix in the file name, if any.
        progress: show a rich progress bar.
        timeout: seconds to wait for the server.

    Raises:
        DownloadError: unreachable server, HTTP error, incomplete download.
        ChecksumError: the sha256 does not match the name.

    Example:
        >>> download_checkpoint('http://127.0.0.1:1/w-0123abcd.pth')  # doctest: +SKIP
        Traceback (most recent call last):
        DownloadError: Cannot reach http://127.0.0.1:1/w-0123abcd.pth: ...
    """
    folder = cache_folder or cache_dir()
    name = file_name_of(url)
    cached_path = os.path.join(folder, name)
    if os.path.isfile(cached_path):
        return cached_path
    os.makedirs(folder, exist_ok=True)
    source = resolve_source(url, mirror, url_mapping)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{name}.', suffix='.part', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as target:
            _, digest = _fetch(source, url, target, cached_path, timeout, progress)
            target.flush()
            os.fsync(target.fileno())
        expected = hash_prefix_of(name) if check_hash else None
        if expected and not digest.startswith(expected):
            raise ChecksumError(
                f'The file from {source} is corrupted or not the published one: its sha256 '
                f'starts with {digest[:len(expected)]}, but the name {name} says {expected}. '
                'It was deleted. Try again, or check the mirror. '
                + _how_to_fix(url, cached_path))
        os.replace(tmp_path, cached_path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    return cached_path


def remove_cached(path: str) -> None:
    """Delete a cached file (used when a cached download proves unreadable)."""
    if os.path.isfile(path):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
