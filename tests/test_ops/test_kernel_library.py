"""mmcls_ms.ops.kernel_library: a kernel library that can be trusted.

The cache key covers everything that makes the binary; concurrent processes
build once; a broken cached file is rebuilt; an interrupted build leaves no
file; the thread count follows the CPU affinity and the cgroup quota.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from mmcls_ms.ops import kernel_library
from mmcls_ms.ops.kernel_library import (available_cpus, build_key, cgroup_cpu_quota,
                                         kernel_threads, library_path)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BUILD = ('import sys; from mmcls_ms.ops.kernel_library import library_path; '
         'print("PATH", library_path())')


def _env(home, **extra):
    env = dict(os.environ, PYTHONPATH=REPO, MMCLS_MS_HOME=str(home), **extra)
    env.pop('MMCLS_MS_CONV_BACKEND', None)
    return env


def test_cache_key_covers_libdnnl_content_compiler_and_flags(tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path))
    lib = tmp_path / 'libdnnl.so.3'
    lib.write_bytes(b'one')
    base = build_key(str(lib), '/usr/bin/g++', 'g++ 12.2.0')
    assert base == build_key(str(lib), '/usr/bin/g++', 'g++ 12.2.0')
    lib.write_bytes(b'two')  # same path, other content (and size, mtime)
    assert build_key(str(lib), '/usr/bin/g++', 'g++ 12.2.0') != base
    lib.write_bytes(b'one')
    assert build_key(str(lib), '/usr/bin/g++', 'g++ 12.2.0') == base
    assert build_key(str(lib), '/opt/gcc/bin/g++', 'g++ 12.2.0') != base
    assert build_key(str(lib), '/usr/bin/g++', 'g++ 13.1.0') != base
    monkeypatch.setattr(kernel_library, 'FLAGS', kernel_library.FLAGS + ('-march=native',))
    assert build_key(str(lib), '/usr/bin/g++', 'g++ 12.2.0') != base


def test_library_is_named_for_what_it_holds():
    path = library_path()
    assert osp.basename(path).startswith('mmcls_ms_cpu_kernels-')
    lib = kernel_library.loaded_library()
    assert lib.kernels_abi_check() == 0 and lib.kernels_num_threads() >= 1


def test_no_compiler_is_explained_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_library, '_library', None)
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path))
    monkeypatch.setenv('CXX', str(tmp_path / 'no-such-compiler'))
    with pytest.raises(kernel_library.KernelLibraryUnavailable, match='no-such-compiler.*set CXX'):
        library_path()
    assert not osp.isdir(tmp_path / 'ops') or not os.listdir(tmp_path / 'ops')


def test_a_build_lock_holder_sweeps_what_killed_builds_left(tmp_path):
    cache = tmp_path / 'ops'
    stale = cache / '.build-999999'
    stale.mkdir(parents=True)
    (stale / 'mmcls_ms_cpu_kernels-x.so').write_bytes(b'half written')
    with kernel_library._build_lock(str(cache / 'mmcls_ms_cpu_kernels-x.so')):
        assert not stale.exists()


def test_an_interrupted_build_leaves_no_file(tmp_path):
    """SIGTERM in the middle of compiling: the build folder (and the compiler with
    it) goes; no library, no temporary file."""
    proc = subprocess.Popen([sys.executable, '-c', BUILD], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = tmp_path / 'ops'
    deadline = time.time() + 120
    while time.time() < deadline and not (
            cache.is_dir() and any(n.startswith('.build-') for n in os.listdir(cache))):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.5)  # the compiler is running now
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    left = [n for n in os.listdir(cache) if not n.endswith('.lock') and
            not n.startswith('.sha256-')]
    assert left == []


@pytest.mark.slow
def test_concurrent_processes_build_once_and_a_broken_file_is_rebuilt(tmp_path):
    """Three processes start on an empty cache at once: one compiles, all load it.
    Then the cached file is truncated: the next process rebuilds it, once."""
    log = tmp_path / 'compiles.log'
    wrapper = tmp_path / 'cxx'
    wrapper.write_text('#!/bin/sh\n'
                       f'case "$*" in *-shared*) echo build >> {log};; esac\n'
                       'exec g++ "$@"\n')
    wrapper.chmod(0o755)
    env = _env(tmp_path / 'home', CXX=str(wrapper))
    procs = [subprocess.Popen([sys.executable, '-c', BUILD], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    paths = {o[0].split('PATH ')[1].strip() for o in outputs}
    assert len(paths) == 1 and log.read_text().count('build') == 1
    (path,) = paths
    with open(path, 'r+b') as f:
        f.truncate(1000)
    run = subprocess.run([sys.executable, '-c', BUILD], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert log.read_text().count('build') == 2 and osp.getsize(path) > 1000


def _cgroup_v2(root, quota):
    (root / 'sys').mkdir(parents=True, exist_ok=True)
    (root / 'sys' / 'cpu.max').write_text(quota)
    (root / 'proc').write_text('0::/\n')
    return str(root / 'sys'), str(root / 'proc')


def test_cgroup_quota_v2_and_v1(tmp_path):
    assert cgroup_cpu_quota(*_cgroup_v2(tmp_path / 'a', '150000 100000\n')) == 1.5
    assert cgroup_cpu_quota(*_cgroup_v2(tmp_path / 'b', 'max 100000\n')) is None
    # v1, the process in a nested cgroup whose parent holds the quota
    root = tmp_path / 'v1'
    nested = root / 'cpu,cpuacct' / 'docker' / 'abc'
    nested.mkdir(parents=True)
    (nested / 'cpu.cfs_quota_us').write_text('-1\n')
    (nested / 'cpu.cfs_period_us').write_text('100000\n')
    (root / 'cpu,cpuacct' / 'docker' / 'cpu.cfs_quota_us').write_text('50000\n')
    (root / 'cpu,cpuacct' / 'docker' / 'cpu.cfs_period_us').write_text('100000\n')
    proc = tmp_path / 'proc_v1'
    proc.write_text('12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n')
    assert cgroup_cpu_quota(str(root), str(proc)) == 0.5
    assert cgroup_cpu_quota(str(tmp_path / 'none'), str(tmp_path / 'none')) is None


def test_thread_count_follows_affinity_and_quota(tmp_path, capsys):
    cpus = len(os.sched_getaffinity(0))
    assert available_cpus('/no/such/dir', '/no/such/file') == cpus
    # a 1.5-CPU quota counts as 2, capped by the affinity
    assert available_cpus(*_cgroup_v2(tmp_path / 'a', '150000 100000')) == min(cpus, 2)
    assert available_cpus(*_cgroup_v2(tmp_path / 'b', '20000 100000')) == 1
    assert kernel_threads({'MMCLS_MS_ONEDNN_THREADS': '3'}) == 3
    # a bad value: one line saying so, and every CPU the process may run on
    assert kernel_threads({'MMCLS_MS_ONEDNN_THREADS': 'two'}) == available_cpus()
    assert kernel_threads({'MMCLS_MS_ONEDNN_THREADS': '0'}) == available_cpus()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(
        "mmcls_ms: ignoring MMCLS_MS_ONEDNN_THREADS='two': it is not a positive whole number")


def test_kernels_use_the_cpus_the_process_may_run_on():
    """A process pinned to one CPU runs the kernels on one thread (no spinning
    helper fighting for the core)."""
    code = ('import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); '
            'from mmcls_ms.ops import kernel_library as k; k.library_path(); '
            'print("THREADS", k.loaded_library().kernels_num_threads())')
    env = dict(os.environ, PYTHONPATH=REPO)
    run = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert 'THREADS 1' in run.stdout, run.stderr[-2000:]


PROFILED_TOOL = """
import numpy as np, mindspore as ms
from mindspore import nn
from mmcls_ms.ops.conv2d import OneDNNConv2d
from mmcls_ms.utils.cli import run_cli

def main(argv):
    conv = OneDNNConv2d(nn.Conv2d(3, 4, 3, pad_mode='pad', padding=1))
    conv(ms.Tensor(np.ones((1, 3, 8, 8), np.float32))).asnumpy()

run_cli(main)
"""


def test_profile_report_from_a_tool(tmp_path):
    """tools/train.py and tools/test.py end with os._exit (no atexit): run_cli prints
    the MMCLS_MS_ONEDNN_PROFILE report itself."""
    script = tmp_path / 'tool.py'
    script.write_text(PROFILED_TOOL)
    env = dict(os.environ, PYTHONPATH=REPO, MMCLS_MS_ONEDNN_PROFILE='1')
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert '[mmcls_ms cpu kernels] forward' in run.stderr
