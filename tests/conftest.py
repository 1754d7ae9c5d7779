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
