"""The argument checks: what they accept, and the one line they raise."""
import re

import pytest

from mmcls_ms.utils.arg_checks import check_choice, check_int, check_interval


def test_check_int_accepts_ints_from_the_minimum():
    assert check_int(1, 'k') == 1
    assert check_int(0, 'num_workers', minimum=0) == 0


@pytest.mark.parametrize('value', [0, -3, 2.0, True, '3', None])
def test_check_int_refuses_others(value):
    with pytest.raises(ValueError, match=rf'^k must be an int >= 1, got {value!r}\.$'):
        check_int(value, 'k')


@pytest.mark.parametrize('interval, inside, outside', [
    ('[0, 1]', [0, 0.5, 1], [-0.1, 1.1]),
    ('(0, 1]', [1e-9, 1], [0, 1.5]),
    ('[0, 1)', [0, 0.999], [1, -1]),
    ('(0, 1)', [0.5], [0, 1]),
])
def test_check_interval_honours_open_and_closed_ends(interval, inside, outside):
    for value in inside:
        assert check_interval(value, interval, 'p') == value
    for value in outside:
        with pytest.raises(ValueError, match=re.escape(f'p must be in {interval}, got {value!r}.')):
            check_interval(value, interval, 'p')


def test_check_interval_refuses_non_numbers():
    with pytest.raises(ValueError, match=r"EMAHook: momentum must be in \(0, 1\), got '0.1'"):
        check_interval('0.1', '(0, 1)', 'EMAHook: momentum')


def test_check_choice():
    assert check_choice('thread', ['thread', 'process'], 'worker_type') == 'thread'
    with pytest.raises(ValueError, match=r"worker_type must be one of \('thread', 'process'\), "
                                         r"got 'fork'\."):
        check_choice('fork', ['thread', 'process'], 'worker_type')
