"""eval_metric.py, confusion_matrix.py and analyze_results.py on a results
pickle with known scores and real image files."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')
CLASSES = ['cat', 'dog', 'bird']
# (gt, scores): 3 right, 2 wrong; top-2 also catches sample 3
SAMPLES = [(0, [0.7, 0.2, 0.1]), (1, [0.1, 0.6, 0.3]), (2, [0.05, 0.05, 0.9]),
           (0, [0.3, 0.6, 0.1]), (1, [0.8, 0.05, 0.15])]


def load_tool(name):
    path = osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_results(tmp_path, samples):
    """``(config, results.pkl)`` as tools/test.py --out writes them, for
    ``samples`` of ``(gt, scores)``."""
    from mmcls_ms.utils.config import load_config
    rows = []
    for i, (gt, scores) in enumerate(samples):
        img_path = str(tmp_path / f'img{i}.png')
        cv2.imwrite(img_path, np.full((24, 24, 3), 40 * i % 256, np.uint8))
        scores = np.array(scores, np.float32)
        rows.append(dict(sample_idx=i, img_path=img_path, gt_label=np.array([gt]),
                         pred_label=np.array([int(scores.argmax())]), pred_score=scores,
                         num_classes=3))
    pkl = str(tmp_path / 'results.pkl')
    with open(pkl, 'wb') as f:
        pickle.dump(rows, f)
    cfg = load_config(QUICKSTART, {'test_dataloader.dataset': dict(
        _delete_=True, type='CustomDataset', data_root=str(tmp_path), classes=CLASSES)})
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    return config, pkl


@pytest.fixture
def results(tmp_path):
    """``(config, results.pkl)`` of :data:`SAMPLES`."""
    return write_results(tmp_path, SAMPLES)


def test_eval_metric(results):
    _, pkl = results
    metrics = load_tool('eval_metric').main([
        pkl, '--metric', 'type=Accuracy', 'topk=1,2',
        '--metric', 'type=SingleLabelMetric', 'items=precision,recall'])
    assert metrics['accuracy/top1'] == pytest.approx(60.0)
    assert metrics['accuracy/top2'] == pytest.approx(80.0)
    # recall per class: cat 1/2, dog 1/2, bird 1/1 -> mean 2/3
    assert metrics['single-label/recall'] == pytest.approx(100 * 2 / 3, abs=1e-3)


def test_eval_metric_errors(results, tmp_path):
    tool = load_tool('eval_metric')
    with pytest.raises(ValueError, match='type='):
        tool.main([results[1], '--metric', 'topk=1'])
    with pytest.raises(FileNotFoundError, match='--out results.pkl'):
        tool.main([str(tmp_path / 'none.pkl'), '--metric', 'type=Accuracy'])
    metrics_pkl = tmp_path / 'metrics.pkl'
    metrics_pkl.write_bytes(pickle.dumps({'accuracy/top1': 50.0}))
    with pytest.raises(ValueError, match='no list of per-sample predictions'):
        tool.main([str(metrics_pkl), '--metric', 'type=Accuracy'])


def test_confusion_matrix(results, tmp_path):
    config, pkl = results
    png, out = tmp_path / 'cm.png', tmp_path / 'cm.pkl'
    matrix = load_tool('confusion_matrix').main([
        config, pkl, '--show-path', str(png), '--include-values', '--out', str(out)])
    expected = np.array([[1, 1, 0],   # cats: one right, one called dog
                         [1, 1, 0],   # dogs: one called cat
                         [0, 0, 1]])
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_array_equal(pickle.loads(out.read_bytes()), expected)
    assert png.stat().st_size > 10000
    fig_tool = load_tool('confusion_matrix')
    fig = fig_tool.plot(expected, CLASSES, include_values=True)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(str(v) for v in expected.ravel())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == CLASSES


def test_analyze_results(results, tmp_path):
    config, pkl = results
    out_dir = tmp_path / 'analysis'
    load_tool('analyze_results').main([config, pkl, '--out-dir', str(out_dir), '--topk', '2'])
    success = json.loads((out_dir / 'success' / 'success.json').read_text())
    fail = json.loads((out_dir / 'fail' / 'fail.json').read_text())
    # the most confident right and wrong predictions, highest score first
    assert [s['sample_idx'] for s in success] == [2, 0]
    assert [f['sample_idx'] for f in fail] == [4, 3]
    assert fail[0]['pred_class'] == 'cat' and fail[0]['gt_class'] == 'dog'
    assert sorted(os.listdir(out_dir / 'fail')) == ['000003_img3.png', '000004_img4.png',
                                                    'fail.json']
    assert cv2.imread(str(out_dir / 'fail' / '000004_img4.png')) is not None


def test_analyze_results_per_class(tmp_path):
    # per class, the right predictions with the highest scores are its best
    # images, the wrong ones with the highest scores its worst
    samples = SAMPLES + [(0, [0.95, 0.03, 0.02]), (0, [0.4, 0.35, 0.25]),
                         (0, [0.2, 0.1, 0.7]), (2, [0.1, 0.5, 0.4])]
    config, pkl = write_results(tmp_path, samples)
    out_dir = tmp_path / 'analysis'
    load_tool('analyze_results').main([config, pkl, '--out-dir', str(out_dir), '--topk', '2'])
    by_class = out_dir / 'by_class'
    assert sorted(os.listdir(by_class)) == sorted(CLASSES)

    def listed(name, kind):
        rows = json.loads((by_class / name / kind / f'{kind}.json').read_text())
        assert sorted(f for f in os.listdir(by_class / name / kind) if f.endswith('.png')) == \
            sorted(f'{r["sample_idx"]:06d}_img{r["sample_idx"]}.png' for r in rows)
        return [r['sample_idx'] for r in rows]
    assert listed('cat', 'success') == [5, 0]      # 0.95, 0.7; 0.4 (sample 6) is third
    assert listed('cat', 'fail') == [7, 3]         # bird 0.7, dog 0.6
    assert listed('dog', 'success') == [1] and listed('dog', 'fail') == [4]
    assert listed('bird', 'success') == [2] and listed('bird', 'fail') == [8]
    assert all(json.loads((by_class / 'cat' / 'fail' / 'fail.json').read_text())[i]['gt_class']
               == 'cat' for i in range(2))
    # the overall folders stay as mmpretrain's
    assert [r['sample_idx'] for r in
            json.loads((out_dir / 'success' / 'success.json').read_text())] == [5, 2]
    drawn = cv2.imread(str(by_class / 'bird' / 'fail' / '000008_img8.png'))
    assert drawn is not None and drawn.shape[1] == 400  # drawn, enlarged for the text


def test_confusion_matrix_of_a_checkpoint_equals_that_of_its_results(tested_12, tmp_path):
    """CONFIG CHECKPOINT runs the test set: the same matrix as from the
    checkpoint's tools/test.py --out pickle."""
    tool = load_tool('confusion_matrix')
    png = tmp_path / 'cm.png'
    # op by op: no graph to compile for three batches
    from_checkpoint = tool.main([tested_12.config, tested_12.checkpoint, '--show-path',
                                 str(png), '--cfg-options', 'env_cfg.mode=pynative'])
    from_results = tool.main([tested_12.config, tested_12.out])
    assert from_checkpoint.shape == (10, 10) and from_checkpoint.sum() == 12
    np.testing.assert_array_equal(from_checkpoint, from_results)
    gts = [int(r['gt_label'][0]) for r in tested_12.results]
    np.testing.assert_array_equal(from_checkpoint.sum(1), np.bincount(gts, minlength=10))
    plot = cv2.imread(str(png))
    assert plot.shape[:2] == (800, 800)  # the plot: 8 inches for 10 classes, at 100 dpi
    # --include-values writes the counts into the cells: the same plot plus the numbers
    with_values = tmp_path / 'cm_values.png'
    tool.main([tested_12.config, tested_12.out, '--show-path', str(with_values),
               '--include-values'])
    changed = np.any(cv2.imread(str(with_values)) != plot, axis=2)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 500
    assert 0.1 * 800 < cols.min() and rows.max() < 0.9 * 800  # inside the matrix, not the axes
