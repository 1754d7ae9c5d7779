"""The quickstart configs learn the bundled digits (slow: minutes of training).

    python -m pytest -m slow tests/test_engine/test_convergence.py
"""
import pytest

from tools.train import main as train_main


@pytest.mark.slow
@pytest.mark.parametrize('config, min_top1', [
    ('configs/vgg/vgg11bn-gap_1xb32_digits.py', 98.0),
    ('configs/inception_v3/inception-v3-gap_1xb32_digits.py', 90.0),
])
def test_quickstart_converges(config, min_top1, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data/digits is prepared here, as a new user's would be
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    runner = train_main([osp.join(repo, config), '--work-dir', str(tmp_path / 'work')])
    final = runner.val_loop.last_metrics['accuracy/top1']
    assert final >= min_top1, f'{config}: final val top-1 {final:.2f} < {min_top1}'
