"""get_model / inference_model with a checkpoint that fits only part of the model:
a missing backbone is refused, a head that does not fit is loaded with a warning."""
import os

import numpy as np
import pytest

from mmcls_ms.apis import get_model, inference_model
from mmcls_ms.weights.checkpoint import PartialCheckpointError, read_checkpoint, save_state_dict

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_BN = os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py')


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """A 5-class checkpoint of TINY_BN (10 classes), and its arrays."""
    from mmcls_ms.weights.checkpoint import save_checkpoint
    folder = tmp_path_factory.mktemp('ckpt')
    model = get_model(TINY_BN, head=dict(num_classes=5))
    path = save_checkpoint(model, str(folder / 'five_classes.ckpt'))
    return path, read_checkpoint(path)[0]


def test_head_that_does_not_fit_warns_with_the_report(saved):
    path, state = saved
    with pytest.warns(UserWarning, match='the checkpoint has no head for this model, or one of other shapes') as record:
        model = get_model(TINY_BN, pretrained=path)
    assert 'head.fc.weight' in str(record[0].message)
    params = {n: p.asnumpy() for n, p in model.parameters_and_names()}
    np.testing.assert_array_equal(params['backbone.features.0.conv.weight'],
                                  state['backbone.features.0.conv.weight'])
    assert params['head.fc.weight'].shape == (10, 512)


def test_missing_backbone_is_refused(saved, tmp_path):
    path, state = saved
    partial = {k: v for k, v in state.items() if not k.startswith('backbone.features.4.')}
    partial_path = save_state_dict(partial, str(tmp_path / 'partial.ckpt'), meta={'epoch': 1})
    with pytest.raises(PartialCheckpointError, match='does not hold the backbone') as err:
        get_model(TINY_BN, pretrained=partial_path)
    assert 'backbone.features.4.conv.weight' in str(err.value)
    assert '\n' not in str(err.value)
    with pytest.raises(PartialCheckpointError, match='does not hold the backbone'):
        inference_model(TINY_BN, np.zeros((32, 32, 3), np.uint8), pretrained=partial_path)
