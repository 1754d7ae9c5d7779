"""Convolutions through oneDNN's blocked-layout kernels, as a MindSpore custom op (CPU).

MindSpore 2.10 gives oneDNN plain NCHW tensors, so its CPU Conv2D and both
backward passes run as im2col + GEMM (``x64:gemm:jit``) under mmcls_ms's AVX2
cap, and as a naive reference kernel without it.  ``OneDNNConv2d`` calls the
oneDNN that MindSpore ships (``mindspore/lib/libdnnl.so.3``) through
``ops.Custom(func_type='aot')`` with layout "any": oneDNN picks its direct
blocked kernels (``jit:avx512_core`` on AVX-512 CPUs) and the op reorders to and
from NCHW around each call.  Forward, backward-data and backward-weights all
go through it, so it trains as well as it infers.

Turn it on for a whole process with ``MMCLS_MS_CONV_BACKEND=onednn`` (read when
``mmcls_ms`` is imported, because the oneDNN ISA cap is per process).
``MMCLS_MS_ONEDNN_PROFILE=1`` prints, at exit, the time spent in the kernels
(with GFLOP/s) and in the layout reorders; ``MMCLS_MS_ONEDNN_VERBOSE=1`` the
kernel oneDNN picked for each shape.  The
kernels are compiled with the system C++ compiler on first use (about 5 s) and
cached in ``$MMCLS_MS_HOME/ops`` (default ``~/.cache/mmcls_ms/ops``).

Example:
    >>> from mmcls_ms.ops import onednn_conv
    >>> onednn_conv.library_path()                  # doctest: +SKIP
    '/root/.cache/mmcls_ms/ops/onednn_conv-3f2a....so'
    >>> n = onednn_conv.use_onednn_convs(model)     # doctest: +SKIP
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

import numpy as np

SOURCE_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc')
SOURCES = ('onednn_api.h', 'onednn_conv.cpp')
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
    home = os.environ.get('MMCLS_MS_HOME', osp.join(osp.expanduser('~'), '.cache', 'mmcls_ms'))
    return osp.join(home, 'ops')


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
    cmd = [compiler, '-O2', '-std=c++17', '-fPIC', '-shared', f'-I{SOURCE_DIR}',
           osp.join(SOURCE_DIR, 'onednn_conv.cpp'), '-o', partial, libdnnl,
           f'-Wl,-rpath,{lib_dir}', '-lpthread']
    try:
        try:
            result = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as err:
            raise OneDNNConvUnavailable(f'cannot run the C++ compiler {compiler!r}: {err} '
                                        '(install g++ or set CXX)') from err
        if result.returncode != 0:
            raise OneDNNConvUnavailable(f'compiling the oneDNN convolution failed:\n'
                                        f'{" ".join(cmd)}\n{result.stderr[-2000:]}')
        os.replace(partial, target)
    finally:
        if osp.exists(partial):
            os.remove(partial)


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


_conv_ops_cache = {}


def _forward_shape(x, w, b, geometry):
    # geometry's shape is (stride_h, stride_w, pad_h + 1, pad_w + 1, dilation_h, dilation_w)
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w = geometry
    pad_h, pad_w = pad_h - 1, pad_w - 1
    out_h = (x[2] + 2 * pad_h - dil_h * (w[2] - 1) - 1) // stride_h + 1
    out_w = (x[3] + 2 * pad_w - dil_w * (w[3] - 1) - 1) // stride_w + 1
    return [x[0], w[0], out_h, out_w]


def _conv_ops(library: str):
    """The forward Custom op with its bprop (backward-data and backward-weights ops).

    The convolution's settings travel in the shape of the ``geometry`` input:
    MindSpore infers, and caches, output shapes from input shapes alone, so two
    convolutions with equal tensors but different strides must differ there.
    """
    if library in _conv_ops_cache:
        return _conv_ops_cache[library]
    from mindspore import ops
    backward_data = ops.Custom(f'{library}:conv2d_backward_data', func_type='aot',
                               out_shape=lambda dy, w, x, g: x,
                               out_dtype=lambda dy, w, x, g: dy)
    backward_weights = ops.Custom(f'{library}:conv2d_backward_weights', func_type='aot',
                                  out_shape=lambda x, dy, w, g: (w, [w[0]]),
                                  out_dtype=lambda x, dy, w, g: (dy, dy))

    def bprop(x, w, b, g, out, dout):
        dw, db = backward_weights(x, dout, w, g)
        return backward_data(dout, w, x, g), dw, db, ops.zeros_like(g)

    forward = ops.Custom(f'{library}:conv2d_forward', func_type='aot', out_shape=_forward_shape,
                         out_dtype=lambda x, w, b, g: x, bprop=bprop)
    _conv_ops_cache[library] = forward
    return forward


def supports(conv) -> str:
    """'' when ``OneDNNConv2d`` can replace the ``nn.Conv2d`` ``conv``, else why not.

    Example:
        >>> supports(nn.Conv2d(3, 8, 3, pad_mode='same'))   # doctest: +SKIP
        "pad_mode 'same'"
    """
    if conv.group != 1:
        return f'groups={conv.group}'
    if conv.data_format != 'NCHW':
        return f'data_format {conv.data_format}'
    if conv.pad_mode == 'pad':
        padding = conv.padding
        if isinstance(padding, tuple) and len(padding) == 4 and (
                padding[0] != padding[1] or padding[2] != padding[3]):
            return f'uneven padding {padding}'
    elif conv.pad_mode != 'valid':
        return f"pad_mode '{conv.pad_mode}'"
    from mindspore import dtype as mstype
    if conv.weight.dtype != mstype.float32:
        return f'dtype {conv.weight.dtype}'
    return ''


def _padding_hw(conv):
    if conv.pad_mode == 'valid':
        return 0, 0
    if isinstance(conv.padding, int):
        return conv.padding, conv.padding
    if len(conv.padding) == 2:
        return tuple(conv.padding)
    return conv.padding[0], conv.padding[2]


def _make_cell_class():
    from mindspore import Tensor, nn

    class OneDNNConv2d(nn.Cell):
        """Drop-in for an ``nn.Conv2d`` (NCHW, fp32, groups 1, even padding) that
        runs oneDNN's blocked-layout kernels; it keeps the conv's Parameters.

        Example:
            >>> fast = OneDNNConv2d(nn.Conv2d(64, 64, 3, pad_mode='pad', padding=1))  # doctest: +SKIP
        """

        def __init__(self, conv):
            super().__init__()
            reason = supports(conv)
            if reason:
                raise ValueError(f'OneDNNConv2d cannot replace this conv: {reason}')
            self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
            self.kernel_size = _pair(conv.kernel_size)
            stride = _pair(conv.stride)[-2:]
            dilation = _pair(conv.dilation)[-2:]
            pad_h, pad_w = _padding_hw(conv)
            self.settings = (*stride, pad_h, pad_w, *dilation)
            # the settings are the shape of this (tiny, never read) tensor; see _conv_ops
            self.geometry = Tensor(np.zeros((*stride, pad_h + 1, pad_w + 1, *dilation), np.uint8))
            self.weight = conv.weight
            self.has_bias = conv.has_bias
            if conv.has_bias:
                self.bias = conv.bias
            else:  # the kernel always adds a bias: a constant zero, not a parameter
                self.zero_bias = Tensor(np.zeros(conv.out_channels, np.float32))
            self.conv = _conv_ops(library_path())

        def construct(self, x):
            bias = self.bias if self.has_bias else self.zero_bias
            return self.conv(x, self.weight, bias, self.geometry)

        def extend_repr(self):
            return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                    f'stride, padding, dilation={self.settings}, backend=onednn')

    return OneDNNConv2d


_cell_class = None


def OneDNNConv2d(conv):  # noqa: N802 (a class, built on first use so importing stays light)
    """Wrap ``conv`` (an ``nn.Conv2d``) as a oneDNN blocked-layout convolution."""
    global _cell_class
    if _cell_class is None:
        _cell_class = _make_cell_class()
    return _cell_class(conv)


def use_onednn_convs(net, strict: bool = True) -> int:
    """Replace every ``nn.Conv2d`` in ``net`` by ``OneDNNConv2d``, in place.

    Parameters (and their names) stay the same objects, so checkpoints,
    optimizers and ``load_checkpoint`` see no difference.  With ``strict``, a
    conv the op cannot run raises ``ValueError`` naming it (at an uncapped
    oneDNN ISA a MindSpore conv left behind would run its naive kernel).

    Returns the number of convolutions replaced.

    Example:
        >>> replaced = use_onednn_convs(model)   # doctest: +SKIP
    """
    from mindspore import nn
    replaced = 0
    for parent_name, parent in list(net.cells_and_names()):
        for child_name, child in list(parent.name_cells().items()):
            if type(child) is not nn.Conv2d:
                continue
            full_name = f'{parent_name}.{child_name}' if parent_name else child_name
            reason = supports(child)
            if reason:
                if strict:
                    raise ValueError(f'{full_name}: the oneDNN convolution cannot run this conv '
                                     f'({reason}); unset MMCLS_MS_CONV_BACKEND to use '
                                     "MindSpore's convolutions")
                continue
            names = {p: p.name for p in child.get_parameters()}
            if isinstance(parent, (nn.SequentialCell, nn.CellList)):
                parent[int(child_name)] = OneDNNConv2d(child)  # also updates their cell list
            else:
                setattr(parent, child_name, OneDNNConv2d(child))
            for param, name in names.items():  # Cell.__setattr__ re-prefixes them
                param.name = name
            replaced += 1
    return replaced


def is_onednn_conv(cell) -> bool:
    """Whether ``cell`` is an ``OneDNNConv2d``."""
    return _cell_class is not None and isinstance(cell, _cell_class)


def apply_conv_backend(net) -> int:
    """Swap ``net``'s convolutions to oneDNN's when the process runs with
    ``MMCLS_MS_CONV_BACKEND=onednn``; otherwise leave it alone.  Returns how
    many were swapped.

    Example:
        >>> apply_conv_backend(model)   # doctest: +SKIP
        94
    """
    from mmcls_ms.utils.cpu_backend import ONEDNN_DECISION
    if ONEDNN_DECISION.conv_backend != 'onednn':
        return 0
    return use_onednn_convs(net)
