"""mmcls_ms.utils.benchmark: the one timing method of every benchmark."""
import pytest

from mmcls_ms.utils.benchmark import percentile, time_steps


def test_time_steps_counts_and_figures():
    calls, stages = [], []
    result = time_steps(lambda: calls.append(1) or len(calls), batch=4, warmup=2, steps=5,
                        on_step=stages.append)
    assert len(calls) == 1 + 2 + 5
    assert stages == ['first', 'warmup', 'warmup'] + ['timed'] * 5
    assert result['output'] == 8  # what the last call returned
    assert len(result['step_s']) == 5 and result['batch'] == 4
    median = sorted(result['step_s'])[2]
    assert result['median_step_s'] == pytest.approx(median, abs=1e-4)
    assert result['images_per_s_min'] <= result['images_per_s'] <= result['images_per_s_max']
    assert set(result['latency_ms']) == {'p50', 'p90', 'p99'}
    assert result['peak_rss_mib'] > 0


@pytest.mark.parametrize('kwargs', [dict(batch=0), dict(steps=0), dict(warmup=-1)])
def test_time_steps_refuses_bad_counts(kwargs):
    args = {**dict(batch=1, warmup=0, steps=1), **kwargs}
    with pytest.raises(ValueError, match='time_steps'):
        time_steps(lambda: None, **args)


def test_percentile_interpolates_like_numpy():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert percentile([7.0], 99) == 7.0
