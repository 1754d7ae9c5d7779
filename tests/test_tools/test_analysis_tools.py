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


@pytest.fixture
def results(tmp_path):
    """``(config, results.pkl)`` as tools/test.py --out writes them."""
    from mmcls_ms.utils.config import load_config
    rows = []
    for i, (gt, scores) in enumerate(SAMPLES):
        img_path = str(tmp_path / f'img{i}.png')
        cv2.imwrite(img_path, np.full((24, 24, 3), 40 * i, np.uint8))
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
