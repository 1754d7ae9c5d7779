"""Pick a oneDNN instruction-set cap that is never catastrophically slow.

MindSpore 2.10 bundles oneDNN 3.10.1.  On x86 CPUs with AVX-512 it picks the
naive reference convolution (``jit_uni_ncsp:conv+ref:any``, ~0.7 GFLOP/s) for
plain NCHW fp32 convolutions with kernel > 1, forward and backward-data.  Capping
the ISA at AVX2 makes it use ``x64:gemm:jit`` instead, 80-140x faster.

This is the one place mmcls_ms decides that.  It runs when ``mmcls_ms`` is
imported, before any MindSpore kernel, and only sets ``ONEDNN_MAX_CPU_ISA`` when
the user has not: set ``ONEDNN_MAX_CPU_ISA`` yourself to choose, or
``MMCLS_MS_ONEDNN_ISA=keep`` to leave oneDNN's own choice alone.

Example:
    >>> from mmcls_ms.utils.cpu_backend import ONEDNN_DECISION
    >>> ONEDNN_DECISION.summary()   # doctest: +SKIP
    'ONEDNN_MAX_CPU_ISA=AVX2 (set by mmcls_ms: this CPU has AVX-512 ...)'
"""
import os
import platform
from dataclasses import dataclass

OVERRIDE_ENV = 'MMCLS_MS_ONEDNN_ISA'
ONEDNN_ENV = 'ONEDNN_MAX_CPU_ISA'
SAFE_ISA = 'AVX2'


@dataclass(frozen=True)
class OneDNNDecision:
    """What was chosen for ``ONEDNN_MAX_CPU_ISA`` and why."""
    value: str  # '' when left unset
    source: str  # 'user', 'mmcls_ms' or 'default'
    reason: str

    def summary(self) -> str:
        shown = self.value or '(unset, oneDNN default)'
        return f'{ONEDNN_ENV}={shown} ({self.source}: {self.reason})'


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


def is_affected_cpu(flags=None, machine=None) -> bool:
    """True on x86-64 CPUs with AVX-512F, where oneDNN 3.10 in MindSpore 2.10
    falls back to its reference convolution."""
    machine = (machine or platform.machine()).lower()
    if machine not in ('x86_64', 'amd64'):
        return False
    flags = cpu_flags() if flags is None else flags
    return 'avx512f' in flags


def decide(environ=None, flags=None, machine=None) -> OneDNNDecision:
    """Decide the ISA cap without touching the environment."""
    environ = os.environ if environ is None else environ
    if environ.get(ONEDNN_ENV):
        return OneDNNDecision(environ[ONEDNN_ENV], 'user', f'{ONEDNN_ENV} was already set')
    if environ.get(OVERRIDE_ENV, '').lower() == 'keep':
        return OneDNNDecision('', 'user', f'{OVERRIDE_ENV}=keep')
    if is_affected_cpu(flags, machine):
        return OneDNNDecision(
            SAFE_ISA, 'mmcls_ms',
            'this CPU has AVX-512, where MindSpore 2.10 oneDNN convolutions fall back to '
            f'a naive kernel; set {ONEDNN_ENV} or {OVERRIDE_ENV}=keep to override')
    return OneDNNDecision('', 'default', 'CPU not affected (no AVX-512)')


def configure_onednn_isa(environ=None) -> OneDNNDecision:
    """Apply :func:`decide` to the environment (idempotent)."""
    environ = os.environ if environ is None else environ
    decision = decide(environ)
    if decision.source == 'mmcls_ms':
        environ[ONEDNN_ENV] = decision.value
    return decision


ONEDNN_DECISION = configure_onednn_isa()
