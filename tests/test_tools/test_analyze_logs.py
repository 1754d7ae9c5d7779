import json
import os.path as osp

import pytest

from tools.analysis_tools.analyze_logs import main


def write_log(tmp_path):
    path = tmp_path / 'run' / '20260101_000000' / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    lines = [dict(loss=2.0 - 0.1 * i, lr=0.01, time=0.5, iter=10 * i, step=10 * i)
             for i in range(1, 6)] + [{'accuracy/top1': 90.0 + i, 'step': i} for i in (1, 2)]
    path.write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    return str(path)


def test_plot_curve_writes_png(tmp_path):
    log = write_log(tmp_path)
    out = tmp_path / 'curve.png'
    main(['plot_curve', log, '--keys', 'loss', 'accuracy/top1', '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert osp.getsize(out) > 5000


def test_unknown_key_lists_available_keys(tmp_path):
    log = write_log(tmp_path)
    with pytest.raises(KeyError, match='available keys: accuracy/top1, loss, lr, time'):
        main(['plot_curve', log, '--keys', 'acc', '--out', str(tmp_path / 'x.png')])


def test_cal_train_time(tmp_path, capsys):
    main(['cal_train_time', write_log(tmp_path)])
    assert 'average iteration time 0.5000 s' in capsys.readouterr().out
