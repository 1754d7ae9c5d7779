"""tools/test.py --show / --wait-time / --show-dir: each test image drawn with
its prediction, in files and in a window (under Xvfb, where it is installed)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_show_dir_draws_the_prediction_of_every_sample(tested_12):
    from mmcls_ms.visualization import UniversalVisualizer
    show_dir, results = tested_12.show_dir, tested_12.results
    files = sorted(os.listdir(show_dir))
    assert len(files) == len(results) == 12
    for row in results:
        name = f'{row["sample_idx"]:06d}_{osp.splitext(osp.basename(row["img_path"]))[0]}.png'
        drawn = cv2.imread(str(show_dir / name))
        assert drawn is not None, f'{name} not written: {files}'
        pred, gt = int(row['pred_label'][0]), int(row['gt_label'][0])
        image = cv2.imread(row['img_path'], cv2.IMREAD_COLOR)
        expected = UniversalVisualizer.draw_cls(
            image, [(str(pred), float(row['pred_score'][pred]))], ground_truth=str(gt))
        np.testing.assert_array_equal(drawn, expected)
        # another label draws another picture: the file shows this prediction
        other = UniversalVisualizer.draw_cls(
            image, [(str((pred + 1) % 10), float(row['pred_score'][pred]))],
            ground_truth=str(gt))
        assert not np.array_equal(drawn, other)


def test_show_opens_a_window_per_image_under_xvfb(tested_12):
    if not tested_12.showed:
        pytest.skip('Xvfb is not installed (apt-get install xvfb)')
    output = tested_12.process.stdout + tested_12.process.stderr
    assert 'Drew 12 test images with their predictions (shown in a window, 0.01 s each; ' \
        f'written to {tested_12.show_dir})' in output, output[-3000:]
    assert 'accuracy/top1' in output


def test_show_without_a_display_is_refused_in_one_line(quickstart_12, tmp_path):
    _, write_config, checkpoint = quickstart_12
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'test.py'), write_config('no_display'),
         checkpoint, '--work-dir', str(tmp_path), '--show'], cwd=str(tmp_path),
        capture_output=True, text=True, timeout=300, env=dict(env, PYTHONPATH=REPO))
    assert proc.returncode == 1, (proc.stdout + proc.stderr)[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith('error: --show: there is no display')
    assert '--show-dir DIR' in lines[-1]
    assert 'Traceback' not in proc.stderr and 'Test results' not in proc.stdout
