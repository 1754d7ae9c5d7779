"""The examples in the model docstrings run and print what they claim."""
import doctest
import importlib
import pkgutil

import pytest

import mmcls_ms.models

MODULES = sorted(info.name for info in pkgutil.walk_packages(mmcls_ms.models.__path__,
                                                               'mmcls_ms.models.'))


@pytest.mark.slow
@pytest.mark.parametrize('name', MODULES + ['mmcls_ms.ops.cpu_backend',
                                           'mmcls_ms.ops.kernel_library', 'mmcls_ms.utils.cells'])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
