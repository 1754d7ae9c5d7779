import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the test helpers next to this file

from http_server import LocalFileServer  # noqa: E402


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """An empty $MMCLS_MS_HOME; mirrors from the environment are cleared."""
    home = tmp_path / 'mmcls_ms_home'
    monkeypatch.setenv('MMCLS_MS_HOME', str(home))
    monkeypatch.delenv('MMCLS_MS_MIRROR', raising=False)
    monkeypatch.delenv('MMCLS_MS_URL_MAPPING', raising=False)
    return home


@pytest.fixture
def file_server():
    with LocalFileServer() as server:
        yield server
