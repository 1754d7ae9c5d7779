"""Build, load and check the oneDNN kernels (``csrc/``: convolution, pooling, and the
training batch norm + ReLU that runs on the same thread pool).

Imports nothing from MindSpore: ``import mmcls_ms`` calls :func:`library_path`
before MindSpore runs a kernel, to decide the oneDNN ISA cap
(``mmcls_ms.ops.cpu_backend``).  The library is compiled with the system
C++ compiler against the ``libdnnl.so.3`` that MindSpore ships, on first use
(about 2 s), and cached in ``$MMCLS_MS_HOME/ops`` (default
``~/.cache/mmcls_ms/ops``) under a name keyed by the sources and the MindSpore
version.  ``MMCLS_MS_ONEDNN_PROFILE=1`` makes the kernels keep time.

Example:
    >>> from mmcls_ms.ops.onednn_library import library_path
    >>> library_path()                  # doctest: +SKIP
    '.../.cache/mmcls_ms/ops/onednn_conv-3f2a....so'
"""
import atexit
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import tempfile

from mmcls_ms.utils.home import mmcls_ms_home

SOURCE_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc')
SOURCES = ('onednn_api.h', 'onednn_runtime.h', 'onednn_conv.cpp', 'onednn_pool.cpp',
           'batch_norm_relu.cpp', 'fused_sgd.cpp')
_library = None  # the loaded ctypes library, once built and checked


class OneDNNConvUnavailable(RuntimeError):
    """The custom convolution cannot be built or loaded here."""


def _mindspore_lib_dir() -> str:
    # found without importing mindspore: this runs before the oneDNN ISA is chosen
    spec = importlib.util.find_spec('mindspore')
    if spec is None or not spec.submodule_search_locations:
        raise OneDNNConvUnavailable('mindspore is not installed')
    return osp.join(list(spec.submodule_search_locations)[0], 'lib')


def _cache_dir() -> str:
    return mmcls_ms_home('ops')


def _build_key() -> str:
    digest = hashlib.sha256(importlib.metadata.version('mindspore').encode())
    for name in SOURCES:
        with open(osp.join(SOURCE_DIR, name), 'rb') as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def library_path() -> str:
    """Build (once, cached) and check the kernel library; return its path.

    Raises ``OneDNNConvUnavailable`` with the reason (no compiler, no
    libdnnl.so.3 in MindSpore, an incompatible oneDNN).

    Example:
        >>> path = library_path()   # doctest: +SKIP
    """
    global _library
    if _library is not None:
        return _library._name
    libdnnl = osp.join(_mindspore_lib_dir(), 'libdnnl.so.3')
    if not osp.isfile(libdnnl):
        raise OneDNNConvUnavailable(f'MindSpore ships no oneDNN here ({libdnnl} is missing)')
    target = osp.join(_cache_dir(), f'onednn_conv-{_build_key()}.so')
    if not osp.isfile(target):
        _compile(target, libdnnl)
    try:
        library = ctypes.CDLL(target)
    except OSError as err:
        raise OneDNNConvUnavailable(f'cannot load {target}: {err}') from err
    status = library.onednn_conv_abi_check()
    if status:
        reason = {1: 'major version is not 3', 2: 'CPU runtime is not THREADPOOL'}[status]
        raise OneDNNConvUnavailable(f"MindSpore's oneDNN is not the one this op was written "
                                    f'for: its {reason}')
    if os.environ.get('MMCLS_MS_ONEDNN_PROFILE'):
        atexit.register(library.onednn_conv_profile_report)
    _library = library
    return target


def report_profile():
    """With ``MMCLS_MS_ONEDNN_PROFILE=1``, print the kernel and reorder times so far
    to stderr (also done at interpreter exit; call it where a tool ends with
    ``os._exit``).

    Example:
        >>> report_profile()   # doctest: +SKIP
    """
    if _library is not None and os.environ.get('MMCLS_MS_ONEDNN_PROFILE'):
        _library.onednn_conv_profile_report()


def _compile(target: str, libdnnl: str):
    compiler = os.environ.get('CXX') or shutil.which('g++') or shutil.which('c++')
    if not compiler:
        raise OneDNNConvUnavailable('no C++ compiler found (install g++ or set CXX)')
    os.makedirs(osp.dirname(target), exist_ok=True)
    # build under a temporary name, then rename: a half-written library is never loaded
    fd, partial = tempfile.mkstemp(suffix='.so', dir=osp.dirname(target))
    os.close(fd)
    lib_dir = osp.dirname(libdnnl)
    sources = [osp.join(SOURCE_DIR, name) for name in SOURCES if name.endswith('.cpp')]
    cmd = [compiler, '-O3', '-std=c++17', '-fPIC', '-shared', f'-I{SOURCE_DIR}',
           *sources, '-o', partial, libdnnl,
           f'-Wl,-rpath,{lib_dir}', '-lpthread']
    try:
        try:
            result = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as err:
            raise OneDNNConvUnavailable(f'cannot run the C++ compiler {compiler!r}: {err} '
                                        '(install g++ or set CXX)') from err
        if result.returncode != 0:
            raise OneDNNConvUnavailable(f'compiling the oneDNN kernels failed:\n'
                                        f'{" ".join(cmd)}\n{result.stderr[-2000:]}')
        os.replace(partial, target)
    finally:
        if osp.exists(partial):
            os.remove(partial)
