"""The installed commands ``mmcls-ms-train`` and ``mmcls-ms-test``.

They run ``tools/train.py`` and ``tools/test.py`` with the same flags.  An
installed package ships the tools in ``mmcls_ms/.mim/tools`` (see setup.py); a
source checkout has them in ``tools/`` next to the package.

Example:
    $ mmcls-ms-train configs/vgg/vgg11bn-gap_1xb32_digits.py --work-dir work_dirs/run1
    $ mmcls-ms-test configs/vgg/vgg11bn-gap_1xb32_digits.py work_dirs/run1/epoch_5.ckpt
"""
import importlib.util
import os.path as osp
from types import ModuleType
from typing import List, Optional

from .utils.cli import run_cli

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))
TOOL_DIRS = (osp.join(PACKAGE_DIR, '.mim', 'tools'), osp.join(osp.dirname(PACKAGE_DIR), 'tools'))


def tool_path(name: str) -> str:
    """The path of a shipped tool script, e.g. ``tool_path('train.py')``.

    Example:
        >>> osp.basename(tool_path('train.py'))
        'train.py'
    """
    for folder in TOOL_DIRS:
        path = osp.join(folder, name)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'{name} is in none of {list(TOOL_DIRS)}; reinstall mmcls_ms '
                            '(pip install .) so that its tools are packaged.')


def load_tool(name: str) -> ModuleType:
    """Import a tool script (``'train.py'``) as a module without running its main."""
    path = tool_path(name)
    spec = importlib.util.spec_from_file_location(f'mmcls_ms_tool_{osp.splitext(name)[0]}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(argv: Optional[List[str]] = None) -> None:
    """``mmcls-ms-train``: the command line of ``tools/train.py``."""
    run_cli(load_tool('train.py').main, argv)


def test(argv: Optional[List[str]] = None) -> None:
    """``mmcls-ms-test``: the command line of ``tools/test.py``."""
    run_cli(load_tool('test.py').main, argv)
