"""``test_cfg.fast=True`` (tools/test.py's default): Runner.test() runs the inference
fast path, BN folded into the convolutions, with the same metrics as without it."""
import numpy as np
import mindspore as ms

from mmcls_ms.engine import Runner
from mmcls_ms.utils.cells import stock_type

from engine_fixtures import tiny_cfg


def test_runner_test_runs_the_fast_path(tiny_digits, tmp_path):
    cfg = tiny_cfg(tiny_digits[0], tmp_path, epochs=1,
                   **{'env_cfg.mode': 'pynative', 'test_cfg': dict(fast=True)})
    runner = Runner.from_cfg(cfg)
    rng = np.random.default_rng(0)
    for param in runner.model.get_parameters():  # BN statistics that folding must carry
        if 'moving_variance' in param.name:
            param.set_data(ms.Tensor(rng.uniform(0.5, 2.0, param.shape).astype(np.float32)))
    plain = runner.val()  # the same images as the test split here
    fast = runner.test()
    assert not any(issubclass(stock_type(cell), ms.nn.BatchNorm2d)
                   for _, cell in runner.model.cells_and_names())
    assert fast['accuracy/top1'] == plain['accuracy/top1']
