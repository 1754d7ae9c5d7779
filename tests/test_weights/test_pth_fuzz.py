"""Hostile .pth files: every one fails cleanly, none crashes or reads outside its data.

The cases run in a subprocess (tests/test_weights/pth_fuzz.py): a reader that
trusted the file's tensor geometry would segfault there, not in pytest.
"""
import collections
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ALLOWED = {'ok', 'PthFormatError', 'UnsafePickleError'}


@pytest.fixture(scope='module')
def fuzz_results(tmp_path_factory):
    work = tmp_path_factory.mktemp('pth_fuzz')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, os.path.join(HERE, 'pth_fuzz.py'), str(work)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]
    last = results[-1]['case'] if results else 'none'
    assert proc.returncode == 0, (f'the fuzz process died with {proc.returncode} after case '
                                  f'{last}:\n{proc.stderr[-3000:]}')
    return {r['case']: r for r in results}


def test_no_crash_and_only_reader_errors(fuzz_results):
    assert len(fuzz_results) > 450
    assert fuzz_results['intact']['outcome'] == 'ok'
    unexpected = {case: f"{r['outcome']}: {r['message']}" for case, r in fuzz_results.items()
                  if r['outcome'] not in ALLOWED}
    assert not unexpected, unexpected
    outcomes = collections.Counter(r['outcome'] for r in fuzz_results.values())
    assert outcomes['PthFormatError'] > 100, outcomes


def test_hostile_geometry_is_refused_naming_the_key(fuzz_results):
    geometry = {c: r for c, r in fuzz_results.items() if c.startswith('geometry:')}
    assert len(geometry) == 18
    for case, result in geometry.items():
        assert result['outcome'] == 'PthFormatError', (case, result)
        if case not in ('geometry:numel_beyond_bytes', 'geometry:negative_numel'):
            assert "'state_dict.fc.weight'" in result['message'], (case, result['message'])
        assert 'bad.pth' in result['message'], (case, result['message'])


def test_damaged_storages_are_refused(fuzz_results):
    for case, result in fuzz_results.items():
        if case.startswith(('short_storage:', 'truncate:')):
            assert result['outcome'] == 'PthFormatError', (case, result)
