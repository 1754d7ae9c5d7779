"""AmpOptimWrapper(dtype='bfloat16') on a CPU without bfloat16 arithmetic is refused
before training starts, with one line saying why and what to do instead."""
import pytest

from mmcls_ms.engine import Runner
from mmcls_ms.ops.cpu_backend import has_bfloat16_arithmetic

from engine_fixtures import tiny_cfg


def test_bfloat16_flags():
    assert has_bfloat16_arithmetic({'avx512f', 'avx512_bf16'})
    assert has_bfloat16_arithmetic({'amx_tile', 'amx_bf16'})
    assert not has_bfloat16_arithmetic({'avx512f', 'avx512bw', 'avx2'})


@pytest.mark.skipif(has_bfloat16_arithmetic(), reason='this CPU computes in bfloat16')
def test_bfloat16_amp_is_refused_without_bfloat16_arithmetic(tiny_digits, tmp_path):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1, **{
        'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.dtype': 'bfloat16'})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r"dtype='bfloat16'\): this CPU has no bfloat16 "
                                         r".*train in float32, or use dtype='float16'"):
        runner.train()
    assert runner.iter == 0
