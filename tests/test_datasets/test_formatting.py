import numpy as np
import pytest

from mmcls_ms.datasets.transforms import PackInputs
from mmcls_ms.structures import DataSample


def test_pack_inputs_chw_and_data_sample():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    out = PackInputs()(dict(img=img, gt_label=3, sample_idx=7, img_path='a.png',
                            ori_shape=(4, 5), img_shape=(4, 5), flip=False, rng=None))
    assert out['inputs'].shape == (3, 4, 5) and out['inputs'].dtype == np.uint8
    assert out['inputs'].flags['C_CONTIGUOUS']
    assert np.array_equal(out['inputs'][2], img[..., 2])
    sample = out['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [3]
    assert sample.img_path == 'a.png' and sample.sample_idx == 7 and sample.flip is False
    assert 'rng' not in sample


def test_pack_inputs_without_label_and_grayscale():
    out = PackInputs()(dict(img=np.zeros((4, 5), np.uint8)))
    assert out['inputs'].shape == (1, 4, 5)
    assert 'gt_label' not in out['data_samples']
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        PackInputs()(dict(gt_label=1))


@pytest.mark.parametrize('dtype', [np.uint8, np.float32, np.int16])
def test_pack_inputs_transpose_is_exact_for_all_dtypes(dtype):
    img = np.random.default_rng(0).integers(0, 255, (7, 9, 3)).astype(dtype)
    out = PackInputs()(dict(img=img))['inputs']
    assert out.dtype == dtype and out.flags['C_CONTIGUOUS']
    assert np.array_equal(out, img.transpose(2, 0, 1))
