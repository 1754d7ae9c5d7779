"""``randomness.seed`` outside what NumPy and MindSpore take is refused by name."""
import pytest

from mmcls_ms.engine import Runner
from mmcls_ms.engine.runner.runner import ConfigError

from engine_fixtures import tiny_cfg


@pytest.mark.parametrize('seed', [-1, 1 << 32, 1.5, 'abc'])
def test_a_seed_out_of_range_is_refused(tiny_digits, tmp_path, seed):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1, randomness=dict(seed=seed))
    with pytest.raises(ConfigError, match=r'randomness.seed must be an int in \[0, 4294967295\]'):
        Runner.from_cfg(cfg)


def test_the_largest_seed_is_accepted(tiny_digits, tmp_path):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1, randomness=dict(seed=(1 << 32) - 1))
    assert Runner.from_cfg(cfg).seed == (1 << 32) - 1
