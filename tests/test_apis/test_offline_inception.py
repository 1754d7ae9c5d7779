"""The mmpretrain one-liner, offline: weights placed in the cache by hand.

``inference_model('inception-v3_3rdparty_8xb32_in1k', img)`` with the .pth put
under its published file name in ``$MMCLS_MS_HOME/checkpoints`` (random
weights here, in mmpretrain's layout) and every URL pointing at a dead port,
so any network access would fail.
"""
import os

import numpy as np

from http_server import unused_port
from pth_writer import write_pth

from mmcls_ms.apis import ImageClassificationInferencer, get_model, inference_model
from mmcls_ms.apis.model_index import ModelHub

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = 'inception-v3_3rdparty_8xb32_in1k'
MS_TO_TORCH_BN = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
                  'moving_variance': 'running_var'}


def test_inception_one_liner_offline(cache_home, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_URL_MAPPING', f'^https?://[^/]+=>http://127.0.0.1:{unused_port()}')
    rng = np.random.default_rng(0)
    state = {}
    reference = get_model(NAME)  # random init, only for the parameter names / shapes
    for name, param in reference.parameters_and_names():
        prefix, leaf = name.rsplit('.', 1)
        if leaf == 'moving_variance':
            value = np.ones(param.shape, np.float32)
        elif leaf == 'moving_mean':
            value = np.zeros(param.shape, np.float32)
        else:
            value = (rng.standard_normal(param.shape) * 0.02).astype(np.float32)
        state[f'{prefix}.{MS_TO_TORCH_BN.get(leaf, leaf)}'] = value
    cached = cache_home / 'checkpoints' / os.path.basename(ModelHub.get(NAME).weights)
    cached.parent.mkdir(parents=True)
    write_pth(str(cached), {'state_dict': state, 'meta': {'mmpretrain_version': '1.0.0rc8'}})

    result = inference_model(NAME, os.path.join(REPO, 'demo', 'bird.JPEG'))
    scores = result['pred_scores']
    assert scores.shape == (1000,) and abs(float(scores.sum()) - 1.0) < 1e-4
    assert result['pred_label'] == int(scores.argmax())
    assert isinstance(result['pred_class'], str)  # ImageNet's class names

    # the weights in the file are the ones used
    model = get_model(NAME, pretrained=True)
    fc = dict(model.parameters_and_names())['backbone.fc.weight'].asnumpy()
    np.testing.assert_array_equal(fc, state['backbone.fc.weight'])
    again = ImageClassificationInferencer(model)(os.path.join(REPO, 'demo', 'bird.JPEG'))[0]
    np.testing.assert_allclose(again['pred_scores'], scores, rtol=1e-4, atol=1e-6)
