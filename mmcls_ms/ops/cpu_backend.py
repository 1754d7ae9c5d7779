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

Which engine runs the models' convolutions (and pools, and training BN + ReLU) on
CPU is decided here too, as it decides the cap.  ``'auto'`` (the default) picks
the oneDNN kernels of :mod:`mmcls_ms.ops.kernel_library` on x86-64 Linux where
they can be built (a C++ compiler and MindSpore's bundled ``libdnnl.so.3``), else
MindSpore's own kernels.  The import only checks that; the library is built (or
loaded from its cache) the first time a model is built for the CPU with them
(:func:`load_kernels`), and a build that fails then falls back as 'auto' says.  The kernels are fast at every ISA level, so with them no
cap is set and the rest of the network (BN, matmul) gets oneDNN's AVX-512 kernels
too.  A config chooses with ``env_cfg.conv_backend = 'auto' | 'onednn' |
'mindspore'`` (:func:`select_conv_backend`, called by the Runner and
``get_model`` before they build a model, when the config has the key);
``MMCLS_MS_CONV_BACKEND`` overrides the config.  The import-time decision cannot
wait for the config: a config that turns the kernels off on an AVX-512 CPU sets
the cap then, which takes effect because no MindSpore kernel has run before the
Runner reads its config.

Example:
    >>> from mmcls_ms.ops.cpu_backend import ONEDNN_DECISION
    >>> ONEDNN_DECISION.summary()   # doctest: +SKIP
    'ONEDNN_MAX_CPU_ISA=AVX2 (set by mmcls_ms: this CPU has AVX-512 ...)'
"""
import os
import platform
import warnings
from dataclasses import dataclass

from .kernel_library import (KernelLibraryUnavailable, check_buildable, ignore_bad_setting,
                             library_path, loaded_library)

OVERRIDE_ENV = 'MMCLS_MS_ONEDNN_ISA'
ONEDNN_ENV = 'ONEDNN_MAX_CPU_ISA'
SAFE_ISA = 'AVX2'
CONV_BACKEND_ENV = 'MMCLS_MS_CONV_BACKEND'
CONV_BACKEND_KEY = 'env_cfg.conv_backend'
CONV_BACKENDS = ('auto', 'mindspore', 'onednn')
CAN_BUILD = 'the oneDNN kernels can be built here'
BUILT = 'the oneDNN kernels are built (or cached) here'


@dataclass(frozen=True)
class OneDNNDecision:
    """What was chosen for ``ONEDNN_MAX_CPU_ISA`` and why."""
    value: str  # '' when left unset
    source: str  # 'user', 'mmcls_ms' or 'default'
    reason: str
    conv_backend: str = 'mindspore'  # who runs the models' convolutions
    conv_reason: str = ''  # why that engine
    conv_requested: str = 'auto'  # what the environment or the config asked for

    def summary(self, device: str = 'CPU') -> str:
        """The log line; on another ``device`` the oneDNN kernels (CPU kernels) do
        not run."""
        shown = self.value or '(unset, oneDNN default)'
        engine = f'{self.conv_backend} ({self.conv_reason})' if self.conv_reason \
            else self.conv_backend
        if device != 'CPU' and self.conv_backend == 'onednn':
            engine = f'mindspore (the device is {device}; the oneDNN kernels run on the CPU)'
        return f'{ONEDNN_ENV}={shown} ({self.source}: {self.reason}); convolutions: {engine}'


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


def has_bfloat16_arithmetic(flags=None) -> bool:
    """Whether this CPU computes in bfloat16 (AVX512_BF16 or AMX-BF16); without it,
    bfloat16 is emulated and slower than float32.

    Example:
        >>> has_bfloat16_arithmetic({'avx2', 'fma'})
        False
    """
    flags = cpu_flags() if flags is None else set(flags)
    return bool(flags & {'avx512_bf16', 'amx_bf16'})


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


def decide(environ=None, flags=None, machine=None, conv_backend='mindspore',
           conv_reason='', conv_requested='auto') -> OneDNNDecision:
    """Decide the ISA cap without touching the environment.

    ``conv_backend='onednn'`` means the convolutions will not be MindSpore's,
    so nothing needs the cap.

    Example:
        >>> decide({}, {'avx2'}, 'x86_64').value   # an AVX2 CPU needs no cap
        ''
    """
    environ = os.environ if environ is None else environ
    extra = dict(conv_backend=conv_backend, conv_reason=conv_reason,
                 conv_requested=conv_requested)
    if environ.get(ONEDNN_ENV):
        return OneDNNDecision(environ[ONEDNN_ENV], 'user', f'{ONEDNN_ENV} was already set',
                              **extra)
    override = environ.get(OVERRIDE_ENV, '')
    if override.strip().lower() == 'keep':
        return OneDNNDecision('', 'user', f'{OVERRIDE_ENV}=keep', **extra)
    if override.strip():
        ignore_bad_setting(OVERRIDE_ENV, override, "is not 'keep' (to choose a cap, set "
                           f'{ONEDNN_ENV} itself)', 'mmcls_ms chooses the cap')
    level = onednn_isa_level(flags, machine)
    if level in AFFECTED_LEVELS and conv_backend == 'onednn':
        return OneDNNDecision('', 'mmcls_ms', f'oneDNN keeps its {level} level: convolutions run '
                              'through the oneDNN kernels of mmcls_ms.ops', **extra)
    if level in AFFECTED_LEVELS:
        return OneDNNDecision(
            SAFE_ISA, 'mmcls_ms',
            f'oneDNN would run at {level} on this CPU, where MindSpore 2.10 oneDNN '
            f'convolutions fall back to a naive kernel; set {ONEDNN_ENV} or '
            f'{OVERRIDE_ENV}=keep to override', **extra)
    shown = level or 'no x86-64 SIMD level'
    return OneDNNDecision('', 'default', f'CPU not affected (oneDNN level {shown})', **extra)


def requested_conv_backend(environ=None) -> str:
    """``MMCLS_MS_CONV_BACKEND``: 'auto', 'mindspore' or 'onednn'; '' when unset (and
    when it holds anything else, which is reported in one line).

    Example:
        >>> requested_conv_backend({'MMCLS_MS_CONV_BACKEND': 'oneDNN'})
        'onednn'
    """
    environ = os.environ if environ is None else environ
    backend = environ.get(CONV_BACKEND_ENV, '').strip().lower()
    if backend and backend not in CONV_BACKENDS:
        ignore_bad_setting(CONV_BACKEND_ENV, environ[CONV_BACKEND_ENV],
                           f"is not one of {', '.join(CONV_BACKENDS)}",
                           f"the config's {CONV_BACKEND_KEY} chooses (default 'auto')")
        return ''
    return backend


def resolve_conv_backend(requested: str, machine=None, system=None) -> tuple:
    """``(engine, reason)`` for a requested backend: 'auto' and 'onednn' become
    'onednn' where the CPU kernel library can be built here (checked without
    building it: :func:`load_kernels` builds it when a model needs it), else
    'mindspore' with the reason.

    Example:
        >>> resolve_conv_backend('mindspore', 'x86_64', 'Linux')
        ('mindspore', 'requested')
    """
    if requested == 'mindspore':
        return 'mindspore', 'requested'
    machine = (machine or platform.machine()).lower()
    system = system or platform.system()
    if machine not in ('x86_64', 'amd64') or system != 'Linux':
        return 'mindspore', f'the oneDNN kernels are built for x86-64 Linux, this is {system} ' \
                            f'{machine}'
    try:
        check_buildable()
    except KernelLibraryUnavailable as err:
        return 'mindspore', f'the oneDNN kernels are unavailable: {err}'
    return 'onednn', f'requested; {CAN_BUILD}' if requested == 'onednn' else \
        f'auto: {CAN_BUILD}'


def configure_onednn_isa(environ=None) -> OneDNNDecision:
    """Apply :func:`decide` to the environment (idempotent), with the conv backend
    that ``MMCLS_MS_CONV_BACKEND`` asks for, else 'auto'.

    Example:
        >>> configure_onednn_isa({'MMCLS_MS_CONV_BACKEND': 'mindspore'}).conv_backend
        'mindspore'
    """
    environ = os.environ if environ is None else environ
    requested = requested_conv_backend(environ)
    backend, reason = resolve_conv_backend(requested or 'auto')
    if requested:
        reason = f'{CONV_BACKEND_ENV}={requested}: {reason}'
    if requested == 'onednn' and backend != 'onednn':
        warnings.warn(f'{CONV_BACKEND_ENV}=onednn: {reason}. Falling back to MindSpore\'s '
                      'convolutions.', stacklevel=2)
    decision = decide(environ, conv_backend=backend, conv_reason=reason,
                      conv_requested=requested or 'auto')
    if decision.source == 'mmcls_ms' and decision.value:
        environ[ONEDNN_ENV] = decision.value
    return decision


def current_decision() -> OneDNNDecision:
    """The decision in force: the import-time one, or the one a config chose since.

    Example:
        >>> current_decision().conv_backend in ('mindspore', 'onednn')
        True
    """
    return _current


def select_conv_backend(requested: str, environ=None) -> OneDNNDecision:
    """Apply a config's ``env_cfg.conv_backend`` ('auto', 'onednn', 'mindspore') to
    this process, before a model is built; ``MMCLS_MS_CONV_BACKEND`` wins over it.
    Turning the oneDNN kernels off on an AVX-512 CPU sets the ISA cap (see the
    module docstring).  Returns the decision now in force.

    Raises ``ValueError`` for an unknown value, or for 'onednn' where the kernels
    cannot be built here.

    Example:
        >>> select_conv_backend('auto').conv_backend in ('mindspore', 'onednn')
        True
    """
    global _current
    environ = os.environ if environ is None else environ
    requested = 'auto' if requested is None else requested
    requested = requested.strip().lower() if isinstance(requested, str) else requested
    if requested not in CONV_BACKENDS:
        raise ValueError(f'{CONV_BACKEND_KEY}={requested!r} is not one of {CONV_BACKENDS}')
    if requested_conv_backend(environ):  # the environment variable overrides the config
        return _current
    backend, reason = resolve_conv_backend(requested)
    if requested == 'onednn' and backend != 'onednn':
        raise ValueError(f"{CONV_BACKEND_KEY}='onednn': {reason}; set it to 'auto' to fall "
                         "back to MindSpore's kernels")
    if backend == 'onednn' and loaded_library() is not None:
        reason = reason.replace(CAN_BUILD, BUILT)
    reason = f'{CONV_BACKEND_KEY}={requested}: {reason}'
    if (backend, reason) == (_current.conv_backend, _current.conv_reason):
        return _current
    return _switch(environ, backend, reason, requested)


def _switch(environ, backend: str, reason: str, requested: str) -> OneDNNDecision:
    """Put the decision for ``backend`` in force, with the cap it needs; a cap
    mmcls_ms set for the other engine is lifted."""
    global _current
    if _current.source == 'mmcls_ms' and _current.value and environ.get(ONEDNN_ENV) == \
            _current.value:
        del environ[ONEDNN_ENV]
    _current = decide(environ, conv_backend=backend, conv_reason=reason,
                      conv_requested=requested)
    if _current.source == 'mmcls_ms' and _current.value:
        environ[ONEDNN_ENV] = _current.value
    return _current


def load_kernels(environ=None) -> OneDNNDecision:
    """Where the decision in force is the oneDNN engine, build the kernel library
    (or load it from the cache) now, once: ``MODELS.build`` calls this, through
    :func:`mmcls_ms.ops.backend.backend_in_use`, the first time it builds a model for
    the CPU, so a process that never does (another device, ``conv_backend =
    'mindspore'``, a tool that builds no model) never compiles it.

    Where the build fails, 'auto' (and ``MMCLS_MS_CONV_BACKEND=onednn``, with a
    warning) falls back to MindSpore's kernels, with the ISA cap, which takes effect
    as no MindSpore kernel has run on the CPU yet; ``env_cfg.conv_backend='onednn'``
    raises ``ValueError``.  Returns the decision now in force.

    Example:
        >>> load_kernels().conv_backend in ('mindspore', 'onednn')
        True
    """
    environ = os.environ if environ is None else environ
    if _current.conv_backend != 'onednn' or loaded_library() is not None:
        return _current
    try:
        library_path()
    except KernelLibraryUnavailable as err:
        reason = f'the oneDNN kernels are unavailable: {err}'
        if _current.conv_requested == 'onednn' and not requested_conv_backend(environ):
            raise ValueError(f"{CONV_BACKEND_KEY}='onednn': {reason}; set it to 'auto' to "
                             "fall back to MindSpore's kernels") from err
        if _current.conv_requested == 'onednn':
            warnings.warn(f'{CONV_BACKEND_ENV}=onednn: {reason}. Falling back to MindSpore\'s '
                          'convolutions.', stacklevel=2)
        asked_by = _current.conv_reason.split(': ', 1)[0]  # the config or the variable
        if '=' in asked_by:
            reason = f'{asked_by}: {reason}'
        return _switch(environ, 'mindspore', reason, _current.conv_requested)
    return _switch(environ, 'onednn', _current.conv_reason.replace(CAN_BUILD, BUILT),
                   _current.conv_requested)


ONEDNN_DECISION = configure_onednn_isa()
_current = ONEDNN_DECISION
