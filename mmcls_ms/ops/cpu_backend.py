"""Pick a oneDNN instruction-set cap that is never catastrophically slow.

MindSpore 2.10 bundles oneDNN 3.10.1.  When oneDNN runs at ISA level
``AVX512_CORE`` or above it picks the naive reference convolution
(``jit_uni_ncsp:conv+ref:any``, ~0.7 GFLOP/s) for plain NCHW fp32
convolutions with kernel > 1, forward and backward-data.  Capping the ISA at
AVX2 makes it use ``x64:gemm:jit`` instead, 80-140x faster.

Which CPUs are affected (measured with ``ONEDNN_VERBOSE=1`` on one 3x3 conv,
32->32 channels at 28x28, forward + backward-data, on an AMD EPYC Zen 4 that
supports every level up to AVX512_CORE_BF16, capping with
``ONEDNN_MAX_CPU_ISA``):

==================  ==============================  =====================
ONEDNN_MAX_CPU_ISA  oneDNN's level                  conv kernel picked
==================  ==============================  =====================
SSE41, AVX, AVX2    SSE4.1 / AVX / AVX2             x64:gemm:jit
AVX2_VNNI(_2)       AVX2 (no AVX-VNNI on this CPU)  x64:gemm:jit
AVX512_CORE         AVX-512 (F, BW, VL, DQ)         conv+ref (naive)
AVX512_CORE_VNNI    AVX-512 with DL Boost           conv+ref (naive)
AVX512_CORE_BF16,   AVX-512 with DL Boost and       conv+ref (naive)
_FP16, _AMX,        bfloat16 (the highest here)
DEFAULT
==================  ==============================  =====================

So exactly the CPUs on which oneDNN reaches ``AVX512_CORE`` are affected:
x86-64 with AVX512F, AVX512BW, AVX512VL and AVX512DQ (Intel Skylake-SP and
later Xeons, Ice Lake / Tiger Lake / Rocket Lake clients, Sapphire Rapids,
AMD Zen 4 and Zen 5).  A CPU with AVX512F but without BW/VL/DQ (Xeon Phi,
Knights Landing) stays at AVX2 in oneDNN 3.x and is not affected; nor are
AVX2-only or non-x86 CPUs.  1x1 convolutions (a matmul) and backward-weights
use JIT kernels at every level.  Linux clears the AVX-512 flags in
/proc/cpuinfo when the OS does not enable the ZMM state, matching oneDNN's own
check.  ``benchmarks/onednn_isa.py`` times both settings.

This is the one place mmcls_ms decides that.  It runs when ``mmcls_ms`` is
imported, before any MindSpore kernel, and only sets ``ONEDNN_MAX_CPU_ISA`` when
the user has not: set ``ONEDNN_MAX_CPU_ISA`` yourself to choose, or
``MMCLS_MS_ONEDNN_ISA=keep`` to leave oneDNN's own choice alone.

``MMCLS_MS_CONV_BACKEND=onednn`` runs the models' convolutions through
``mmcls_ms.ops.onednn_conv`` (oneDNN's blocked-layout kernels) instead.  Those
are fast at every ISA level, so then no cap is set and the rest of the network
(pooling, BN, matmul) gets oneDNN's AVX-512 kernels too.  When the op cannot be
built here, mmcls_ms warns and falls back to MindSpore's convolutions + cap.

Example:
    >>> from mmcls_ms.ops.cpu_backend import ONEDNN_DECISION
    >>> ONEDNN_DECISION.summary()   # doctest: +SKIP
    'ONEDNN_MAX_CPU_ISA=AVX2 (set by mmcls_ms: this CPU has AVX-512 ...)'
"""
import os
import platform
import warnings
from dataclasses import dataclass

OVERRIDE_ENV = 'MMCLS_MS_ONEDNN_ISA'
ONEDNN_ENV = 'ONEDNN_MAX_CPU_ISA'
SAFE_ISA = 'AVX2'
CONV_BACKEND_ENV = 'MMCLS_MS_CONV_BACKEND'
CONV_BACKENDS = ('mindspore', 'onednn')


@dataclass(frozen=True)
class OneDNNDecision:
    """What was chosen for ``ONEDNN_MAX_CPU_ISA`` and why."""
    value: str  # '' when left unset
    source: str  # 'user', 'mmcls_ms' or 'default'
    reason: str
    conv_backend: str = 'mindspore'  # who runs the models' convolutions

    def summary(self) -> str:
        shown = self.value or '(unset, oneDNN default)'
        return (f'{ONEDNN_ENV}={shown} ({self.source}: {self.reason}); '
                f'convolutions: {self.conv_backend}')


def cpu_flags() -> set:
    """The CPU feature flags from /proc/cpuinfo (empty off Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


# /proc/cpuinfo flags oneDNN 3.x needs for each ISA level, highest first
ONEDNN_ISA_LEVELS = (
    ('AVX512_CORE_AMX', {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_vnni',
                         'avx512_bf16', 'amx_tile', 'amx_int8', 'amx_bf16'}),
    ('AVX512_CORE_FP16', {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_vnni',
                          'avx512_bf16', 'avx512_fp16'}),
    ('AVX512_CORE_BF16', {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_vnni',
                          'avx512_bf16'}),
    ('AVX512_CORE_VNNI', {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_vnni'}),
    ('AVX512_CORE', {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq'}),
    ('AVX2_VNNI', {'avx2', 'avx_vnni'}),
    ('AVX2', {'avx2'}),
    ('AVX', {'avx'}),
    ('SSE41', {'sse4_1'}),
)
# levels at which oneDNN 3.10 picks the reference convolution (table above)
AFFECTED_LEVELS = {'AVX512_CORE', 'AVX512_CORE_VNNI', 'AVX512_CORE_BF16', 'AVX512_CORE_FP16',
                   'AVX512_CORE_AMX'}


def onednn_isa_level(flags=None, machine=None) -> str:
    """The ISA level oneDNN 3.x would run at on a CPU with these flags
    ('' off x86-64 or below SSE4.1).

    Example:
        >>> onednn_isa_level({'avx', 'avx2', 'avx512f'}, 'x86_64')   # Knights Landing-like
        'AVX2'
    """
    machine = (machine or platform.machine()).lower()
    if machine not in ('x86_64', 'amd64'):
        return ''
    flags = cpu_flags() if flags is None else set(flags)
    for level, needed in ONEDNN_ISA_LEVELS:
        if needed <= flags:
            return level
    return ''


def is_affected_cpu(flags=None, machine=None) -> bool:
    """True where oneDNN 3.10 (MindSpore 2.10) would run at AVX512_CORE or above
    and so fall back to its reference convolution."""
    return onednn_isa_level(flags, machine) in AFFECTED_LEVELS


def decide(environ=None, flags=None, machine=None, conv_backend='mindspore') -> OneDNNDecision:
    """Decide the ISA cap without touching the environment.

    ``conv_backend='onednn'`` means the convolutions will not be MindSpore's,
    so nothing needs the cap.
    """
    environ = os.environ if environ is None else environ
    if environ.get(ONEDNN_ENV):
        return OneDNNDecision(environ[ONEDNN_ENV], 'user', f'{ONEDNN_ENV} was already set',
                              conv_backend)
    if environ.get(OVERRIDE_ENV, '').lower() == 'keep':
        return OneDNNDecision('', 'user', f'{OVERRIDE_ENV}=keep', conv_backend)
    level = onednn_isa_level(flags, machine)
    if level in AFFECTED_LEVELS and conv_backend == 'onednn':
        return OneDNNDecision('', 'mmcls_ms', f'oneDNN keeps its {level} level: convolutions run '
                              f'through mmcls_ms.ops.onednn_conv ({CONV_BACKEND_ENV}=onednn)',
                              conv_backend)
    if level in AFFECTED_LEVELS:
        return OneDNNDecision(
            SAFE_ISA, 'mmcls_ms',
            f'oneDNN would run at {level} on this CPU, where MindSpore 2.10 oneDNN '
            f'convolutions fall back to a naive kernel; set {ONEDNN_ENV} or '
            f'{OVERRIDE_ENV}=keep to override')
    shown = level or 'no x86-64 SIMD level'
    return OneDNNDecision('', 'default', f'CPU not affected (oneDNN level {shown})',
                          conv_backend)


def requested_conv_backend(environ=None) -> str:
    """``MMCLS_MS_CONV_BACKEND``: 'mindspore' (default) or 'onednn'.

    Example:
        >>> requested_conv_backend({'MMCLS_MS_CONV_BACKEND': 'oneDNN'})
        'onednn'
    """
    environ = os.environ if environ is None else environ
    backend = environ.get(CONV_BACKEND_ENV, 'mindspore').strip().lower() or 'mindspore'
    if backend not in CONV_BACKENDS:
        raise ValueError(f'{CONV_BACKEND_ENV}={environ[CONV_BACKEND_ENV]!r} is not one of '
                         f'{CONV_BACKENDS}; unset it to use MindSpore\'s convolutions')
    return backend


def configure_onednn_isa(environ=None) -> OneDNNDecision:
    """Apply :func:`decide` to the environment (idempotent)."""
    environ = os.environ if environ is None else environ
    backend = requested_conv_backend(environ)
    if backend == 'onednn':
        # only when asked for: the build needs a compiler and takes seconds
        from mmcls_ms.ops.onednn_library import OneDNNConvUnavailable, library_path
        try:
            library_path()
        except OneDNNConvUnavailable as err:
            warnings.warn(f'{CONV_BACKEND_ENV}=onednn: {err}. Falling back to MindSpore\'s '
                          'convolutions.', stacklevel=2)
            backend = 'mindspore'
    decision = decide(environ, conv_backend=backend)
    if decision.source == 'mmcls_ms' and decision.value:
        environ[ONEDNN_ENV] = decision.value
    return decision


ONEDNN_DECISION = configure_onednn_isa()
