"""The oneDNN ISA decision, from fake CPU flags and environments (no timing)."""
import os
import subprocess
import sys

import pytest

from mmcls_ms.ops.cpu_backend import (configure_onednn_isa, current_decision, decide,
                                      is_affected_cpu,
                                      onednn_isa_level, requested_conv_backend,
                                      resolve_conv_backend, select_conv_backend)

SKYLAKE_SP = {'sse4_1', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq',
              'avx512cd'}
ZEN4 = SKYLAKE_SP | {'avx512_vnni', 'avx512_bf16', 'avx512ifma', 'avx512vbmi'}
SAPPHIRE_RAPIDS = ZEN4 | {'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16', 'avx_vnni'}
KNIGHTS_LANDING = {'sse4_1', 'avx', 'avx2', 'avx512f', 'avx512cd', 'avx512er', 'avx512pf'}
ZEN3 = {'sse4_1', 'avx', 'avx2', 'fma'}
ALDER_LAKE = ZEN3 | {'avx_vnni'}


@pytest.mark.parametrize('flags,level,affected', [
    (SKYLAKE_SP, 'AVX512_CORE', True),
    (SKYLAKE_SP | {'avx512_vnni'}, 'AVX512_CORE_VNNI', True),
    (ZEN4, 'AVX512_CORE_BF16', True),
    (SAPPHIRE_RAPIDS, 'AVX512_CORE_AMX', True),
    (KNIGHTS_LANDING, 'AVX2', False),  # AVX512F alone is not AVX512_CORE
    (ALDER_LAKE, 'AVX2_VNNI', False),
    (ZEN3, 'AVX2', False),
    ({'sse4_1'}, 'SSE41', False),
    (set(), '', False),
])
def test_isa_level_and_affected(flags, level, affected):
    assert onednn_isa_level(flags, 'x86_64') == level
    assert is_affected_cpu(flags, 'x86_64') is affected


def test_non_x86_never_affected():
    assert onednn_isa_level(ZEN4, 'aarch64') == ''
    assert not is_affected_cpu(ZEN4, 'aarch64')


def test_decide_caps_affected_cpus_only():
    decision = decide({}, ZEN4, 'x86_64')
    assert (decision.value, decision.source) == ('AVX2', 'mmcls_ms')
    assert 'AVX512_CORE_BF16' in decision.reason
    decision = decide({}, ZEN3, 'x86_64')
    assert (decision.value, decision.source) == ('', 'default')
    assert 'AVX2' in decision.summary()


def test_user_settings_win():
    decision = decide({'ONEDNN_MAX_CPU_ISA': 'AVX512_CORE'}, ZEN4, 'x86_64')
    assert (decision.value, decision.source) == ('AVX512_CORE', 'user')
    decision = decide({'MMCLS_MS_ONEDNN_ISA': 'KEEP'}, ZEN4, 'x86_64')
    assert (decision.value, decision.source) == ('', 'user')
    # an empty ONEDNN_MAX_CPU_ISA counts as unset
    assert decide({'ONEDNN_MAX_CPU_ISA': ''}, ZEN4, 'x86_64').source == 'mmcls_ms'


def test_onednn_conv_backend_needs_no_cap():
    decision = decide({}, ZEN4, 'x86_64', conv_backend='onednn')
    assert (decision.value, decision.source, decision.conv_backend) == ('', 'mmcls_ms', 'onednn')
    assert 'convolutions: onednn' in decision.summary()
    # the user's own cap still wins
    decision = decide({'ONEDNN_MAX_CPU_ISA': 'AVX2'}, ZEN4, 'x86_64', conv_backend='onednn')
    assert (decision.value, decision.conv_backend) == ('AVX2', 'onednn')
    assert requested_conv_backend({}) == ''
    assert requested_conv_backend({'MMCLS_MS_CONV_BACKEND': ' OneDNN '}) == 'onednn'
    environ = {'MMCLS_MS_CONV_BACKEND': 'onednn'}
    decision = configure_onednn_isa(environ)
    assert decision.conv_backend == 'onednn' and 'ONEDNN_MAX_CPU_ISA' not in environ
    # the oneDNN kernels run on the CPU only: the log line says so on another device
    assert decision.summary('GPU').endswith(
        'convolutions: mindspore (the device is GPU; the oneDNN kernels run on the CPU)')


def test_auto_picks_the_kernels_where_they_build():
    """No setting at all: the oneDNN kernels on x86-64 Linux (they build here), and
    MindSpore's kernels elsewhere, with the reason in the log line."""
    decision = configure_onednn_isa({})
    assert decision.conv_backend == 'onednn' and decision.conv_requested == 'auto'
    assert 'convolutions: onednn (auto: the oneDNN kernels can be built here)' in \
        decision.summary()
    assert resolve_conv_backend('auto', 'aarch64', 'Linux') == (
        'mindspore', 'the oneDNN kernels are built for x86-64 Linux, this is Linux aarch64')
    assert resolve_conv_backend('mindspore')[0] == 'mindspore'


@pytest.fixture
def restore_selection():
    yield
    select_conv_backend('auto')


def test_config_selects_and_the_environment_overrides(restore_selection):
    environ = {}
    assert select_conv_backend('mindspore', environ).conv_backend == 'mindspore'
    assert current_decision().conv_requested == 'mindspore'
    assert 'env_cfg.conv_backend=mindspore' in current_decision().summary()
    assert select_conv_backend('auto', environ).conv_backend == 'onednn'
    assert select_conv_backend(None, environ).conv_backend == 'onednn'
    with pytest.raises(ValueError, match=r"env_cfg.conv_backend='cudnn' is not one of"):
        select_conv_backend('cudnn', environ)
    # MMCLS_MS_CONV_BACKEND wins over the config
    before = current_decision()
    assert select_conv_backend('mindspore', {'MMCLS_MS_CONV_BACKEND': 'onednn'}) is before


def test_configure_writes_only_its_own_decision():
    environ = {}
    decision = configure_onednn_isa(environ)
    if decision.source == 'mmcls_ms':
        assert environ == {'ONEDNN_MAX_CPU_ISA': 'AVX2'}
    else:
        assert environ == {}
    environ = {'ONEDNN_MAX_CPU_ISA': 'SSE41'}
    configure_onednn_isa(environ)
    assert environ == {'ONEDNN_MAX_CPU_ISA': 'SSE41'}


def test_import_sets_the_environment_in_a_fresh_process():
    env = {k: v for k, v in os.environ.items()
           if k not in ('ONEDNN_MAX_CPU_ISA', 'MMCLS_MS_ONEDNN_ISA')}
    code = ('import os, mmcls_ms; d = mmcls_ms.ONEDNN_DECISION; '
            'print(d.source, os.environ.get("ONEDNN_MAX_CPU_ISA", ""))')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=root, capture_output=True,
                         text=True, timeout=120).stdout.split()
    expected = ['mmcls_ms', 'AVX2'] if is_affected_cpu() else ['default']
    assert out == expected


LAZY_BUILD_SCRIPT = '''
import os, shutil, sys, time
started = time.perf_counter()
import mmcls_ms
from mmcls_ms.ops import kernel_library
print('IMPORT_S', time.perf_counter() - started)
cache, cached = sys.argv[1], sys.argv[2]
print('AFTER_IMPORT', os.path.isdir(cache), kernel_library.loaded_library() is not None)

import numpy as np
from mindspore import Parameter, Tensor
from mmcls_ms.engine.optimizers import SGD
from mmcls_ms.ops.backend import engine_summary
from mmcls_ms.ops.cpu_backend import select_conv_backend
from mmcls_ms.registry import MODELS

select_conv_backend('mindspore')
model = MODELS.build(dict(type='VGG', depth=11, num_classes=-1))
sgd = SGD(model.trainable_params(), lr=0.1, momentum=0.9)
print('MINDSPORE', os.path.isdir(cache), kernel_library.loaded_library() is not None,
      sgd.fused, engine_summary())

# the library this machine built (copied, not compiled again): found and loaded from
# the cache the first time a model is built for the CPU with the oneDNN engine
os.makedirs(cache)
for suffix in ('', '.sha256'):
    shutil.copy(cached + suffix, os.path.join(cache, os.path.basename(cached) + suffix))
select_conv_backend('auto')
print('AUTO_SELECTED', kernel_library.loaded_library() is not None)
model = MODELS.build(dict(type='VGG', depth=11, num_classes=-1))
print('AUTO', kernel_library.loaded_library() is not None, engine_summary())
'''


@pytest.fixture(scope='module')
def lazy_build_run(tmp_path_factory):
    """One fresh process on an empty kernel cache, with a bad value in each
    variable read at import."""
    from mmcls_ms.ops.kernel_library import library_path
    cached = library_path()  # this machine's library, built once for the whole test run
    home = tmp_path_factory.mktemp('home')
    env = {k: v for k, v in os.environ.items() if k not in ('ONEDNN_MAX_CPU_ISA', 'CXX')}
    env.update(MMCLS_MS_HOME=str(home), MMCLS_MS_CONV_BACKEND='cudnn',
               MMCLS_MS_ONEDNN_ISA='avx9000', MMCLS_MS_ONEDNN_THREADS='two')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = subprocess.run([sys.executable, '-c', LAZY_BUILD_SCRIPT, str(home / 'ops'), cached],
                         env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return {line.split(' ', 1)[0]: line.split(' ', 1)[1] for line in run.stdout.splitlines()
            if line.split(' ', 1)[0].isupper()}, run.stderr


def test_the_kernels_are_built_when_a_model_needs_them(lazy_build_run):
    """``import mmcls_ms`` builds nothing (it only checks a compiler and MindSpore's
    oneDNN are there); a model built with MindSpore's kernels, and its SGD, do not
    build the library; the first model built with the oneDNN engine loads it."""
    out, _ = lazy_build_run
    assert float(out['IMPORT_S']) < 10  # 0.1 s here; it took 13 s with the build
    assert out['AFTER_IMPORT'] == 'False False'
    assert out['MINDSPORE'].startswith('False False False ')
    assert out['MINDSPORE'].endswith('convolutions: mindspore (env_cfg.conv_backend=mindspore: '
                                     'requested)')
    assert out['AUTO_SELECTED'] == 'False'
    assert out['AUTO'] == ('True ONEDNN_MAX_CPU_ISA=(unset, oneDNN default) (default: CPU not '
                           'affected (oneDNN level AVX2)); convolutions: onednn '
                           '(env_cfg.conv_backend=auto: auto: the oneDNN kernels are built (or '
                           'cached) here)') or is_affected_cpu()


def test_a_bad_variable_read_at_import_is_one_line_and_ignored(lazy_build_run):
    """A bad ``MMCLS_MS_CONV_BACKEND`` or ``MMCLS_MS_ONEDNN_ISA`` (read at import) or
    ``MMCLS_MS_ONEDNN_THREADS`` (read when the kernels load): one line each naming
    the variable and what it accepts, no traceback, and the default is used."""
    out, stderr = lazy_build_run
    assert 'Traceback' not in stderr
    ignored = [line for line in stderr.splitlines() if line.startswith('mmcls_ms: ignoring')]
    assert len(ignored) == 3, stderr[-3000:]
    assert ignored[0].startswith("mmcls_ms: ignoring MMCLS_MS_CONV_BACKEND='cudnn': it is not "
                                 'one of auto, mindspore, onednn')
    assert ignored[1].startswith("mmcls_ms: ignoring MMCLS_MS_ONEDNN_ISA='avx9000': it is not "
                                 "'keep'")
    assert ignored[2].startswith("mmcls_ms: ignoring MMCLS_MS_ONEDNN_THREADS='two': it is not "
                                 'a positive whole number of threads; using ')
