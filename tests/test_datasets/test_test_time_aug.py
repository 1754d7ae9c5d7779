"""TestTimeAug: one packed view per combination of the stage lists."""
import numpy as np
import pytest

from mmcls_ms.datasets import transforms  # not the class: pytest would collect "Test..."


def test_views_are_stacked_in_product_order():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    tta = transforms.TestTimeAug([[dict(type='RandomFlip', prob=1.),
                                   dict(type='RandomFlip', prob=0.)],
                                  [dict(type='PackInputs')]])
    out = tta(dict(img=img, sample_idx=7, gt_label=3))
    assert out['inputs'].shape == (2, 3, 2, 3) and out['inputs'].dtype == np.uint8
    np.testing.assert_array_equal(out['inputs'][0], img[:, ::-1].transpose(2, 0, 1))
    np.testing.assert_array_equal(out['inputs'][1], img.transpose(2, 0, 1))
    assert int(out['data_samples'].gt_label[0]) == 3


def test_bad_configs_are_refused():
    with pytest.raises(TypeError, match='list of non-empty lists'):
        transforms.TestTimeAug([dict(type='PackInputs')])
    tta = transforms.TestTimeAug([[dict(type='Resize', scale=8),
                                   dict(type='Resize', scale=16)],
                                  [dict(type='PackInputs')]])
    with pytest.raises(ValueError, match='TestTimeAug views differ in shape'):
        tta(dict(img=np.zeros((32, 32, 3), np.uint8), sample_idx=0))
    with pytest.raises(ValueError, match='end every view with PackInputs'):
        transforms.TestTimeAug([[dict(type='RandomFlip', prob=0.)]])(
            dict(img=np.zeros((4, 4, 3), np.uint8), sample_idx=0))
