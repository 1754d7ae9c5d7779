import numpy as np
import pytest

from mmcls_ms.structures import DataSample


def test_labels_and_scores_are_numpy():
    sample = DataSample(metainfo=dict(num_classes=4, img_path='x.jpg'))
    assert sample.set_gt_label(2) is sample  # chainable
    assert sample.gt_label.tolist() == [2] and sample.gt_label.dtype == np.int64
    sample.set_gt_label([1, 3]).set_pred_label(np.int64(0))
    assert sample.gt_label.tolist() == [1, 3] and sample.pred_label.tolist() == [0]
    sample.set_pred_score([0.1, 0.2, 0.3, 0.4])
    assert sample.pred_score.dtype == np.float32 and sample.pred_score.shape == (4,)
    assert sample.num_classes == 4 and sample.img_path == 'x.jpg'
    assert 'pred_score' in sample and 'gt_score' not in sample
    assert sample.get('gt_score') is None


def test_attribute_assignment_goes_through_setters():
    sample = DataSample()
    sample.gt_label = 5
    assert sample.gt_label.tolist() == [5]
    sample.feature = np.ones(3)
    assert 'feature' in sample.keys()
    del sample.feature
    assert 'feature' not in sample


def test_bad_values_raise_clear_errors():
    sample = DataSample(metainfo=dict(num_classes=3))
    with pytest.raises(TypeError, match='gt_label'):
        sample.set_gt_label(1.5)
    with pytest.raises(TypeError, match='gt_label'):
        sample.set_gt_label([[1, 2]])
    with pytest.raises(ValueError, match='num_classes is 3'):
        sample.set_pred_score([0.5, 0.5])
    with pytest.raises(AttributeError, match='no field'):
        sample.pred_label
    with pytest.raises(AttributeError, match='metainfo'):
        sample.num_classes = 4


def test_repr_and_to_dict():
    sample = DataSample(metainfo=dict(img_path='a.png')).set_gt_label(1)
    text = repr(sample)
    assert 'img_path' in text and 'gt_label' in text
    assert set(sample.to_dict()) == {'img_path', 'gt_label'}
