"""Accuracy refuses a topk that cannot give a number instead of reporting one."""
import numpy as np
import pytest

from mmcls_ms.evaluation.metrics.single_label import Accuracy

SCORES = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
LABELS = np.array([1, 2])


@pytest.mark.parametrize('topk', [0, -1, (1, 0), 'abc', 1.5, ()])
def test_a_topk_that_is_no_positive_int_is_refused(topk):
    with pytest.raises(ValueError, match='Accuracy: topk must be positive ints'):
        Accuracy(topk=topk)


def test_a_topk_beyond_the_classes_is_refused_when_nothing_is_left():
    with pytest.raises(ValueError, match=r'every topk value \(5, 20\) exceeds the 3 classes'):
        Accuracy(topk=(5, 20)).evaluate(SCORES, SCORES.argmax(1), LABELS)


def test_a_topk_beyond_the_classes_is_skipped_with_a_warning():
    with pytest.warns(UserWarning, match=r'gives only \(1, 2\)'):
        result = Accuracy(topk=(1, 2, 5)).evaluate(SCORES, SCORES.argmax(1), LABELS)
    assert result == {'accuracy/top1': 50.0, 'accuracy/top2': 100.0}
