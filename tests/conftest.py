import os
import sys

import pytest

# Import mmcls_ms first: it picks the oneDNN ISA before MindSpore runs a kernel.
import mmcls_ms  # noqa: F401

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO_ROOT, 'configs')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _fresh_execution_mode():
    """Each test starts in MindSpore's default PyNative mode: a Runner switches
    the process to graph mode, which must not leak into the next test."""
    import mindspore as ms
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield


def pytest_collection_modifyitems(config, items):
    """Run `slow` tests only when asked for with `-m slow`."""
    markexpr = config.getoption('-m') or ''
    if 'slow' in markexpr:
        return
    skip_slow = pytest.mark.skip(reason='slow test: run with `pytest -m slow`')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip_slow)


sys.path.insert(0, REPO_ROOT)
