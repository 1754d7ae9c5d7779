"""Build, load and check the CPU kernel library (``csrc/``): oneDNN convolution and
pooling, the training batch norm + ReLU, and the fused SGD step, all on one thread pool.

Imports nothing from MindSpore: ``import mmcls_ms`` calls :func:`check_buildable`
(cheap: no compiling) before MindSpore runs a kernel, to decide the conv backend and
the oneDNN ISA cap (``mmcls_ms.ops.cpu_backend``).  The library is compiled with the
system C++ compiler against the ``libdnnl.so.3`` that MindSpore ships the first time
a model is built for the CPU with the oneDNN engine (:func:`library_path`), and
cached in ``$MMCLS_MS_HOME/ops`` (default ``~/.cache/mmcls_ms/ops``) under a name
keyed by everything that makes the binary: the sources, the content of
``libdnnl.so.3``, the compiler's path and ``--version`` output, and the flags.

- N processes starting at once (the ranks of a distributed run) build it once:
  the build holds a file lock, and the others wait and load its result.
- A build compiles in a private folder and renames the result into place, so a
  half-written library is never loaded; a build that is killed leaves no file
  (SIGINT/SIGTERM: removed at once; SIGKILL: removed by the next build).
- A cached library that does not load, or whose content no longer matches the
  checksum written when it was built (a truncated file would crash the process
  in ``dlopen``), is rebuilt once.
- The kernels use as many threads as the process may run on: its CPU affinity
  and its cgroup CPU quota (:func:`available_cpus`), or ``MMCLS_MS_ONEDNN_THREADS``.

``MMCLS_MS_ONEDNN_PROFILE=1`` makes the kernels keep time and print it at exit.

Example:
    >>> from mmcls_ms.ops.kernel_library import library_path
    >>> library_path()                  # doctest: +SKIP
    '~/.cache/mmcls_ms/ops/mmcls_ms_cpu_kernels-3f2a....so'
"""
import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import importlib.util
import math
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
from typing import Optional

from mmcls_ms.utils.home import mmcls_ms_home

SOURCE_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc')
SOURCES = ('onednn_api.h', 'onednn_runtime.h', 'library.cpp', 'conv2d.cpp', 'pool2d.cpp',
           'batch_norm_relu.cpp', 'fused_sgd.cpp')
LIBRARY_NAME = 'mmcls_ms_cpu_kernels'
FLAGS = ('-O3', '-std=c++17', '-fPIC', '-shared', '-pipe')
# one translation unit that includes every .cpp: the C++ standard headers they share
# are parsed once, which makes the build about 3x faster than compiling each file
UNITY_SOURCE = ''.join(f'#include "{name}"\n' for name in SOURCES if name.endswith('.cpp'))
THREADS_ENV = 'MMCLS_MS_ONEDNN_THREADS'
PROFILE_ENV = 'MMCLS_MS_ONEDNN_PROFILE'
_BUILD_PREFIX = '.build-'  # private build folders in the cache: '.build-<pid>'
_library = None  # the loaded ctypes library, once built and checked
_profile_reported = False


class KernelLibraryUnavailable(RuntimeError):
    """The CPU kernel library cannot be built or loaded here."""


def _mindspore_lib_dir() -> str:
    # found without importing mindspore: this runs before the oneDNN ISA is chosen
    spec = importlib.util.find_spec('mindspore')
    if spec is None or not spec.submodule_search_locations:
        raise KernelLibraryUnavailable('mindspore is not installed')
    return osp.join(list(spec.submodule_search_locations)[0], 'lib')


def _cache_dir() -> str:
    return mmcls_ms_home('ops')


def _compiler() -> str:
    chosen = os.environ.get('CXX')
    if chosen:
        if not shutil.which(chosen):
            raise KernelLibraryUnavailable(f'no C++ compiler at CXX={chosen!r} (install g++ or '
                                           'set CXX)')
        return shutil.which(chosen)
    compiler = shutil.which('g++') or shutil.which('c++')
    if not compiler:
        raise KernelLibraryUnavailable('no C++ compiler found (install g++ or set CXX)')
    return compiler


def _compiler_version(compiler: str) -> str:
    try:
        result = subprocess.run([compiler, '--version'], capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise KernelLibraryUnavailable(f'cannot run the C++ compiler {compiler!r}: {err} '
                                       '(install g++ or set CXX)') from err
    if result.returncode != 0:
        raise KernelLibraryUnavailable(f'the C++ compiler {compiler!r} fails --version '
                                       '(install g++ or set CXX)')
    return result.stdout


def _file_digest(path: str, cache: str) -> str:
    """sha256 of ``path``'s content, remembered per (size, mtime, inode) in ``cache``
    (hashing MindSpore's 58 MB libdnnl.so.3 at every import would cost 0.2 s)."""
    stat = os.stat(path)
    memo = osp.join(cache, f'.sha256-{osp.basename(path)}-{stat.st_size}-{stat.st_mtime_ns}'
                           f'-{stat.st_ino}')
    with contextlib.suppress(OSError):
        with open(memo) as f:
            digest = f.read().strip()
        if len(digest) == 64:
            return digest
    hasher = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            hasher.update(block)
    digest = hasher.hexdigest()
    with contextlib.suppress(OSError):
        os.makedirs(cache, exist_ok=True)
        partial = f'{memo}.{os.getpid()}'
        with open(partial, 'w') as f:
            f.write(digest)
        os.replace(partial, memo)
    return digest


def build_key(libdnnl: str, compiler: str, compiler_version: str) -> str:
    """The cache key: a digest of the sources, ``libdnnl``'s content, the compiler
    path and ``--version`` output, and the flags.

    Example:
        >>> key = build_key(libdnnl, '/usr/bin/g++', 'g++ 12.2.0')   # doctest: +SKIP
    """
    digest = hashlib.sha256()
    for name in SOURCES:
        with open(osp.join(SOURCE_DIR, name), 'rb') as f:
            digest.update(name.encode() + b'\0' + f.read() + b'\0')
    for part in (_file_digest(libdnnl, _cache_dir()), compiler, compiler_version, *FLAGS,
                 UNITY_SOURCE):
        digest.update(part.encode() + b'\0')
    return digest.hexdigest()[:16]


def available_cpus(cgroup_root: str = '/sys/fs/cgroup',
                   proc_cgroup: str = '/proc/self/cgroup') -> int:
    """The CPUs this process may use: its affinity mask, capped by its cgroup's CPU
    quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``;
    a quota of 1.5 CPUs counts as 2).

    Example:
        >>> available_cpus() >= 1
        True
    """
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cgroup_cpu_quota(cgroup_root: str = '/sys/fs/cgroup',
                     proc_cgroup: str = '/proc/self/cgroup') -> Optional[float]:
    """The CPU quota (in CPUs) of this process's cgroup and its parents, the
    smallest one; None when unlimited or unknown.

    Example:
        >>> cgroup_cpu_quota('/no/such/dir') is None
        True
    """
    quotas = []
    for line in (_read(proc_cgroup) or '').splitlines():
        _, controllers, path = line.split(':', 2)
        if controllers == '':  # cgroup v2: '0::/path'
            base, read = cgroup_root, _quota_v2
        elif 'cpu' in controllers.split(','):  # cgroup v1: 'N:cpu,cpuacct:/path'
            base = next((osp.join(cgroup_root, name) for name in (controllers, 'cpu')
                         if osp.isdir(osp.join(cgroup_root, name))), None)
            read = _quota_v1
            if base is None:
                continue
        else:
            continue
        # the process's own cgroup and each parent up to the root (inside a container
        # the path may not be mounted: then the root is the container's own cgroup)
        parts = [p for p in path.split('/') if p]
        for depth in range(len(parts), -1, -1):
            quota = read(osp.join(base, *parts[:depth]))
            if quota is not None:
                quotas.append(quota)
    return min(quotas) if quotas else None


def _quota_v2(folder: str) -> Optional[float]:
    text = _read(osp.join(folder, 'cpu.max'))
    if not text:
        return None
    quota, _, period = text.partition(' ')
    if quota == 'max':
        return None
    return int(quota) / int(period or 100000)


def _quota_v1(folder: str) -> Optional[float]:
    quota, period = _read(osp.join(folder, 'cpu.cfs_quota_us')), \
        _read(osp.join(folder, 'cpu.cfs_period_us'))
    if quota is None or period is None or int(quota) <= 0:
        return None
    return int(quota) / int(period)


def kernel_threads(environ=None) -> int:
    """How many threads the kernels use: ``MMCLS_MS_ONEDNN_THREADS``, else
    :func:`available_cpus` (also when the variable is not a positive whole number,
    which is reported in one line).

    Example:
        >>> kernel_threads({'MMCLS_MS_ONEDNN_THREADS': '3'})
        3
    """
    environ = os.environ if environ is None else environ
    text = environ.get(THREADS_ENV, '').strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    cpus = available_cpus()
    if text:
        ignore_bad_setting(THREADS_ENV, environ[THREADS_ENV], 'is not a positive whole number '
                           'of threads', f'using {cpus}, the CPUs this process may run on')
    return cpus


_ignored_settings = set()


def ignore_bad_setting(name: str, value: str, problem: str, instead: str) -> None:
    """Say in one line on stderr (once per value) that the environment variable
    ``name`` is ignored and what is done instead.  For the variables read before a
    config (at ``import mmcls_ms``), where a traceback would help no one.

    Example:
        >>> ignore_bad_setting('MMCLS_MS_ONEDNN_THREADS', 'two', 'is not a positive '
        ...                    'whole number of threads', 'using 2')   # doctest: +SKIP
        mmcls_ms: ignoring MMCLS_MS_ONEDNN_THREADS='two': it is not a positive whole ...
    """
    if (name, value) in _ignored_settings:
        return
    _ignored_settings.add((name, value))
    print(f'mmcls_ms: ignoring {name}={value!r}: it {problem}; {instead}. Set it to an '
          f'accepted value or unset it (see docs/environment.md).', file=sys.stderr, flush=True)


def check_buildable() -> str:
    """Check, without compiling, what the build needs (MindSpore's ``libdnnl.so.3``
    and a C++ compiler); return the ``libdnnl.so.3`` path.

    Raises ``KernelLibraryUnavailable`` with the reason.

    Example:
        >>> check_buildable().endswith('libdnnl.so.3')   # doctest: +SKIP
        True
    """
    libdnnl = osp.join(_mindspore_lib_dir(), 'libdnnl.so.3')
    if not osp.isfile(libdnnl):
        raise KernelLibraryUnavailable(f'MindSpore ships no oneDNN here ({libdnnl} is missing)')
    _compiler()
    return libdnnl


def library_path() -> str:
    """Build (once, cached) and check the kernel library; return its path.

    Raises ``KernelLibraryUnavailable`` with the reason (no compiler, no
    libdnnl.so.3 in MindSpore, an incompatible oneDNN).

    Example:
        >>> path = library_path()   # doctest: +SKIP
    """
    global _library
    if _library is not None:
        return _library._name
    libdnnl = check_buildable()
    compiler = _compiler()
    key = build_key(libdnnl, compiler, _compiler_version(compiler))
    target = osp.join(_cache_dir(), f'{LIBRARY_NAME}-{key}.so')
    try:
        library = _load(target, libdnnl, compiler)
    except OSError as first:
        # a cached file that does not load (truncated by a full disk, copied from
        # another system): build it again, once
        with _build_lock(target):
            if not _intact(target):  # (else another process rebuilt it meanwhile)
                with contextlib.suppress(OSError):
                    os.remove(target)
                _compile(target, libdnnl, compiler)
        try:
            library = ctypes.CDLL(target)
        except OSError as err:
            raise KernelLibraryUnavailable(f'cannot load {target}, even rebuilt: {err} '
                                           f'(first: {first})') from err
    status = library.kernels_abi_check()
    if status:
        reason = {1: 'major version is not 3', 2: 'CPU runtime is not THREADPOOL'}[status]
        raise KernelLibraryUnavailable(f"MindSpore's oneDNN is not the one these kernels were "
                                       f'written for: its {reason}')
    library.kernels_set_num_threads(kernel_threads())
    _library = library
    if os.environ.get(PROFILE_ENV):
        atexit.register(report_profile)
    return target


def _load(target: str, libdnnl: str, compiler: str):
    """Load ``target``, building it first (under the lock) when it is not there."""
    if not osp.isfile(target):
        with _build_lock(target):
            if not osp.isfile(target):  # another process may have built it meanwhile
                _compile(target, libdnnl, compiler)
    if not _intact(target):
        raise OSError(f'{target} does not match the checksum written when it was built')
    return ctypes.CDLL(target)


def _sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _intact(target: str) -> bool:
    """Whether ``target`` is the file its build wrote (``<target>.sha256``)."""
    try:
        with open(f'{target}.sha256') as f:
            return f.read().strip() == _sha256(target)
    except OSError:
        return False


@contextlib.contextmanager
def _build_lock(target: str):
    """Hold ``<target>.lock`` (an exclusive ``flock``): one builder per cache; while
    holding it, remove what killed builds left behind."""
    folder = osp.dirname(target)
    os.makedirs(folder, exist_ok=True)
    with open(f'{target}.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for name in os.listdir(folder):
                if name.startswith(_BUILD_PREFIX):  # no build runs now: all are stale
                    shutil.rmtree(osp.join(folder, name), ignore_errors=True)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _kill_with_parent():
    # in the compiler's process: die with the Python process that started it, so that
    # a killed build leaves no compiler writing into the cache
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _cleanup_on_sigterm():
    """Turn SIGTERM into an exception while building (main thread only), so the
    build's ``finally`` removes its folder; SIGINT already raises."""
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _compile(target: str, libdnnl: str, compiler: str):
    """Compile into a private folder, then rename into place (call under the lock)."""
    build_dir = osp.join(osp.dirname(target), f'{_BUILD_PREFIX}{os.getpid()}')
    lib_dir = osp.dirname(libdnnl)
    unity = osp.join(build_dir, 'kernels.cpp')
    partial = osp.join(build_dir, osp.basename(target))
    cmd = [compiler, *FLAGS, f'-I{SOURCE_DIR}', unity, '-o', partial, libdnnl,
           f'-Wl,-rpath,{lib_dir}', '-lpthread']
    print(f'mmcls_ms: building the oneDNN CPU kernels into {target} (once; about 5 s)',
          file=sys.stderr, flush=True)
    with _cleanup_on_sigterm():
        try:
            os.makedirs(build_dir, exist_ok=True)
            with open(unity, 'w') as f:
                f.write(UNITY_SOURCE)
            env = dict(os.environ, TMPDIR=build_dir)  # the compiler's own temporary files too
            try:
                result = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                        preexec_fn=_kill_with_parent)
            except OSError as err:
                raise KernelLibraryUnavailable(f'cannot run the C++ compiler {compiler!r}: '
                                               f'{err} (install g++ or set CXX)') from err
            if result.returncode != 0:
                raise KernelLibraryUnavailable(f'compiling the CPU kernels failed:\n'
                                               f'{" ".join(cmd)}\n{result.stderr[-2000:]}')
            with open(f'{partial}.sha256', 'w') as f:
                f.write(_sha256(partial))
            # the checksum first: a reader that finds the library finds its checksum
            os.replace(f'{partial}.sha256', f'{target}.sha256')
            os.replace(partial, target)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)


def loaded_library():
    """The loaded ctypes library, or None when :func:`library_path` has not run.

    Example:
        >>> lib = loaded_library()   # doctest: +SKIP
    """
    return _library


def report_profile():
    """With ``MMCLS_MS_ONEDNN_PROFILE=1``, print the kernel and reorder times to
    stderr, once (at interpreter exit, or earlier where a tool calls it: the tools
    end with ``os._exit``, which skips ``atexit``).

    Example:
        >>> report_profile()   # doctest: +SKIP
    """
    global _profile_reported
    if _library is not None and os.environ.get(PROFILE_ENV) and not _profile_reported:
        _profile_reported = True
        _library.kernels_profile_report()
