"""Cached, verified downloads against a real HTTP server on 127.0.0.1."""
import hashlib
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'test_apis'))
from http_server import LocalFileServer, unused_port  # noqa: E402

from mmcls_ms.weights.download import (ChecksumError, DownloadError, cache_dir,  # noqa: E402
                                     download_checkpoint, file_name_of, hash_prefix_of,
                                     parse_url_mapping, resolve_source)

PAYLOAD = os.urandom(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
PUBLISHED = 'https://download.openmmlab.com/mmclassification/v0/test/'


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('MMCLS_MS_MIRROR', raising=False)
    monkeypatch.delenv('MMCLS_MS_URL_MAPPING', raising=False)
    return tmp_path / 'home'


@pytest.fixture
def server():
    with LocalFileServer() as s:
        yield s


def cache_files(home):
    folder = home / 'checkpoints'
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_names_and_hash_prefixes():
    assert hash_prefix_of('inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth') == 'dcd4d910'
    assert hash_prefix_of('vgg16_bn_batch256_imagenet_20210208-7e55cd29.pth') == '7e55cd29'
    assert hash_prefix_of('inception_v3-38f67890.ckpt') == '38f67890'
    assert hash_prefix_of('inception_v3-61a8e9ed-910v2.ckpt') == '61a8e9ed'
    assert hash_prefix_of('inception_v3_google-0cc3c7bd.pth') == '0cc3c7bd'
    assert hash_prefix_of('epoch_12.ckpt') is None
    assert file_name_of('https://a.org/x/y-0123abcd.pth?download=1') == 'y-0123abcd.pth'
    with pytest.raises(DownloadError, match='names no file'):
        file_name_of('https://a.org/x/')


def test_cache_dir_follows_env(home):
    assert cache_dir() == str(home / 'checkpoints')


def test_url_mapping_and_mirror(monkeypatch):
    url = PUBLISHED + 'w-0123abcd.pth'
    assert parse_url_mapping(('a', 'b')) == [('a', 'b')]
    assert parse_url_mapping('x=>y; z=>w') == [('x', 'y'), ('z', 'w')]
    with pytest.raises(ValueError, match='regex=>replacement'):
        parse_url_mapping('no-arrow')
    mapped = resolve_source(url, url_mapping=(r'^https://download\.openmmlab\.com/',
                                              'http://intranet/'))
    assert mapped == 'http://intranet/mmclassification/v0/test/w-0123abcd.pth'
    assert resolve_source(url, mirror='http://m.local/w/') == 'http://m.local/w/w-0123abcd.pth'
    monkeypatch.setenv('MMCLS_MS_MIRROR', '/srv/weights')
    assert resolve_source(url) == '/srv/weights/w-0123abcd.pth'
    # the argument wins over the environment
    assert resolve_source(url, mirror='/other') == '/other/w-0123abcd.pth'


def test_download_verifies_and_caches(home, server):
    name = f'tiny_20240101-{DIGEST[:8]}.pth'
    server.add('/v0/test/' + name, PAYLOAD)
    url = PUBLISHED + name
    mapping = ('https://download.openmmlab.com/mmclassification', server.base_url)
    path = download_checkpoint(url, url_mapping=mapping, progress=False)
    assert path == str(home / 'checkpoints' / name)
    with open(path, 'rb') as f:
        assert f.read() == PAYLOAD
    assert server.requests['/v0/test/' + name] == 1
    # second call: from the cache, no request
    assert download_checkpoint(url, url_mapping=mapping, progress=False) == path
    assert server.requests['/v0/test/' + name] == 1
    assert cache_files(home) == [name]  # no temporary file left


def test_url_mapping_from_environment(home, server, monkeypatch):
    name = f'env_20240101-{DIGEST[:8]}.pth'
    server.add('/v0/test/' + name, PAYLOAD)
    monkeypatch.setenv('MMCLS_MS_URL_MAPPING',
                       f'https://download.openmmlab.com/mmclassification=>{server.base_url}')
    path = download_checkpoint(PUBLISHED + name, progress=True)  # with the rich bar
    assert os.path.getsize(path) == len(PAYLOAD)


def test_mirror_folder(home, tmp_path):
    name = f'mirrored-{DIGEST[:8]}.ckpt'
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / name).write_bytes(PAYLOAD)
    path = download_checkpoint('https://download.mindspore.cn/toolkits/mindcv/x/' + name,
                               mirror=str(mirror), progress=False)
    assert open(path, 'rb').read() == PAYLOAD
    with pytest.raises(DownloadError, match='mirror has no file'):
        download_checkpoint('https://a.org/missing-0123abcd.ckpt', mirror=str(mirror))


def test_hash_mismatch_deletes_the_file(home, server):
    name = 'tiny_20240101-00000000.pth'
    server.add('/v0/test/' + name, PAYLOAD)
    with pytest.raises(ChecksumError) as info:
        download_checkpoint(PUBLISHED + name, url_mapping=(
            'https://download.openmmlab.com/mmclassification', server.base_url), progress=False)
    message = str(info.value)
    assert DIGEST[:8] in message and '00000000' in message and 'deleted' in message
    assert cache_files(home) == []


def test_corrupted_transfer_is_caught(home, server):
    name = f'tiny_20240101-{DIGEST[:8]}.pth'
    server.add('/v0/test/' + name, PAYLOAD, mode='corrupt')
    with pytest.raises(ChecksumError):
        download_checkpoint(PUBLISHED + name, url_mapping=(
            'https://download.openmmlab.com/mmclassification', server.base_url), progress=False)
    assert cache_files(home) == []


def test_truncated_transfer_is_caught(home, server):
    name = 'no_hash_in_this_name.pth'  # only the length can tell
    server.add('/v0/test/' + name, PAYLOAD, mode='truncate')
    with pytest.raises(DownloadError, match='broke off|incomplete'):
        download_checkpoint(PUBLISHED + name, url_mapping=(
            'https://download.openmmlab.com/mmclassification', server.base_url), progress=False)
    assert cache_files(home) == []


def test_http_404(home, server):
    url = PUBLISHED + 'gone-0123abcd.pth'
    with pytest.raises(DownloadError) as info:
        download_checkpoint(url, url_mapping=(
            'https://download.openmmlab.com/mmclassification', server.base_url), progress=False)
    message = str(info.value)
    assert 'HTTP 404' in message and url in message
    assert str(home / 'checkpoints' / 'gone-0123abcd.pth') in message
    assert cache_files(home) == []


def test_offline_error_says_what_to_do(home):
    url = PUBLISHED + 'offline-0123abcd.pth'
    dead = f'http://127.0.0.1:{unused_port()}'
    with pytest.raises(DownloadError) as info:
        download_checkpoint(url, url_mapping=('https://download.openmmlab.com/mmclassification',
                                              dead), progress=False, timeout=5)
    message = str(info.value)
    assert 'Cannot reach' in message
    assert url in message  # the published URL, to fetch elsewhere
    assert str(home / 'checkpoints' / 'offline-0123abcd.pth') in message  # where to put it
    assert 'MMCLS_MS_MIRROR' in message and 'MMCLS_MS_URL_MAPPING' in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained trace
    assert cache_files(home) == []


def test_file_placed_by_hand_is_used_without_network(home):
    name = 'by_hand-0123abcd.pth'  # hash not checked for files already in the cache
    folder = home / 'checkpoints'
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b'anything')
    dead = f'http://127.0.0.1:{unused_port()}'
    assert download_checkpoint(PUBLISHED + name, mirror=dead) == str(folder / name)
