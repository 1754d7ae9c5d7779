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
    with pytest.raises(ValueError, match="MMCLS_MS_CONV_BACKEND='cudnn'.*unset it"):
        requested_conv_backend({'MMCLS_MS_CONV_BACKEND': 'cudnn'})
    environ = {'MMCLS_MS_CONV_BACKEND': 'onednn'}
    decision = configure_onednn_isa(environ)  # builds (or finds) the op
    assert decision.conv_backend == 'onednn' and 'ONEDNN_MAX_CPU_ISA' not in environ


def test_auto_picks_the_kernels_where_they_build():
    """No setting at all: the oneDNN kernels on x86-64 Linux (they build here), and
    MindSpore's kernels elsewhere, with the reason in the log line."""
    decision = configure_onednn_isa({})
    assert decision.conv_backend == 'onednn' and decision.conv_requested == 'auto'
    assert 'convolutions: onednn (auto: the oneDNN kernels built here)' in decision.summary()
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
