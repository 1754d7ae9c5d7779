"""Train on the bundled digits, then the inference API agrees with tools/test.py.

Slow (about 2 minutes on 2 shared cores): run with ``pytest -m slow``.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args, cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_trained_model_inference_matches_tools_test(tmp_path):
    import mmcls_ms  # noqa: F401
    from mmcls_ms.apis import ImageClassificationInferencer, get_model, inference_model
    from mmcls_ms.datasets import prepare_digits
    data_root = prepare_digits(str(tmp_path / 'digits'))
    roots = [f'{split}_dataloader.dataset.data_root={data_root}'
             for split in ('train', 'val', 'test')]
    work_dir = tmp_path / 'work'
    run([os.path.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir', str(work_dir),
         '--cfg-options', 'train_cfg.max_epochs=1'] + roots, cwd=tmp_path)
    checkpoint = str(work_dir / 'epoch_1.ckpt')
    preds_path = tmp_path / 'preds.json'
    run([os.path.join(REPO, 'tools', 'test.py'), CONFIG, checkpoint, '--work-dir',
         str(tmp_path / 'test'), '--out', str(preds_path), '--out-item', 'pred',
         '--cfg-options', roots[2]], cwd=tmp_path)
    with open(preds_path) as f:
        expected = json.load(f)
    held_out = [row['img_path'] for row in expected]  # the val split: never trained on
    assert len(held_out) == 355

    # from the config path, one image at a time (mmpretrain refuses a config here)
    for row in expected[:5]:
        result = inference_model(CONFIG, row['img_path'], pretrained=checkpoint)
        assert result['pred_label'] == row['pred_label']
        assert abs(float(result['pred_scores'].sum()) - 1.0) < 1e-5
        np.testing.assert_allclose(result['pred_scores'], row['pred_scores'], atol=1e-5)

    # every held-out image, batched, from a model object
    model = get_model(CONFIG, pretrained=checkpoint)
    assert list(model._dataset_meta['classes']) == [str(d) for d in range(10)]
    results = ImageClassificationInferencer(model)(held_out, batch_size=32)
    labels = [r['pred_label'] for r in results]
    assert labels == [row['pred_label'] for row in expected]
    for result, row in zip(results, expected):
        np.testing.assert_allclose(result['pred_scores'], row['pred_scores'], atol=1e-5)
        assert result['pred_class'] == row['pred_class']
    accuracy = np.mean([r == row['gt_label'] for r, row in zip(labels, expected)])
    assert accuracy > 0.5  # it learned something in one epoch
