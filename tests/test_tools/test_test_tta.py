"""tools/test.py --tta (mmpretrain's tta_model / tta_pipeline) and the
DumpResults pickle of --out, on 12 real digit images."""
import os.path as osp
import pickle

import numpy as np
import pytest

from mmcls_ms.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')
N_IMAGES = 12


def run_test(quickstart_12, name, *flags, **config):
    from tools.test import main as test_main
    tmp, write_config, checkpoint = quickstart_12
    out = str(tmp / f'{name}.pkl')
    metrics = test_main([write_config(name, **config), checkpoint, '--work-dir',
                         str(tmp / name), '--out', out, *flags])
    with open(out, 'rb') as f:
        return metrics, pickle.load(f)


def scores_of(results):
    return np.stack([r['pred_score'] for r in sorted(results, key=lambda r: r['sample_idx'])])


@pytest.mark.slow  # four test runs, about 80 s on 2 cores
def test_tta_averages_the_scores_of_the_views(quickstart_12):
    pipeline = load_config(QUICKSTART).test_pipeline
    _, plain = run_test(quickstart_12, 'plain')
    # the pickle is mmpretrain's DumpResults: one dict per sample
    assert len(plain) == N_IMAGES
    first = plain[0]
    assert first['pred_score'].shape == (10,) and first['num_classes'] == 10
    assert first['pred_label'].tolist() == [int(first['pred_score'].argmax())]
    assert first['gt_label'].tolist() == [0] and first['img_path'].endswith('.png')

    # one identity view: the plain test
    identity = pipeline[:-1] + [dict(type='TestTimeAug', transforms=[[pipeline[-1]]])]
    _, same = run_test(quickstart_12, 'identity', '--tta', tta_pipeline=identity)
    np.testing.assert_allclose(scores_of(same), scores_of(plain), rtol=1e-5, atol=1e-6)

    # the default TTA: the mean of the flipped and the plain pass
    flipped_pipeline = pipeline[:-1] + [dict(type='RandomFlip', prob=1.), pipeline[-1]]
    _, flipped = run_test(quickstart_12, 'flipped', pipeline=flipped_pipeline)
    assert not np.allclose(scores_of(flipped), scores_of(plain), atol=1e-4)
    metrics, tta = run_test(quickstart_12, 'flip_tta', '--tta')
    mean = (scores_of(plain) + scores_of(flipped)) / 2
    np.testing.assert_allclose(scores_of(tta), mean, rtol=1e-5, atol=1e-6)
    # the metric and the labels come from the averaged scores
    gts = np.array([r['gt_label'][0] for r in sorted(tta, key=lambda r: r['sample_idx'])])
    assert metrics['accuracy/top1'] == pytest.approx(100 * np.mean(mean.argmax(1) == gts))
    assert [r['pred_label'][0] for r in tta] == [int(r['pred_score'].argmax()) for r in tta]

