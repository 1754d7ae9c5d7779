"""The inferencer (and inference_model) run the inference fast path by default:
BN folded, the preprocessor as one convolution, ReLUs fused into the oneDNN
convolutions; scores equal the plain model's within the parity bound."""
import os.path as osp

import numpy as np
import mindspore as ms

from mmcls_ms.apis import ImageClassificationInferencer, get_model
from mmcls_ms.utils.cells import stock_type

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def test_inferencer_runs_the_fast_path_by_default(tmp_path):
    model = get_model(CONFIG)
    rng = np.random.default_rng(0)
    for param in model.get_parameters():  # BN statistics away from (0, 1): folding matters
        if 'moving_variance' in param.name:
            param.set_data(ms.Tensor(rng.uniform(0.5, 2.0, param.shape).astype(np.float32)))
        elif 'moving_mean' in param.name:
            param.set_data(ms.Tensor(rng.normal(0, 0.2, param.shape).astype(np.float32)))
    checkpoint = str(tmp_path / 'vgg.ckpt')
    ms.save_checkpoint(model, checkpoint)
    images = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(3)]

    fast = ImageClassificationInferencer(CONFIG, pretrained=checkpoint)
    assert fast.fast_path[0] == '8 BatchNorms folded into their convolutions'
    assert 'preprocessor -> cast + 1x1 conv' in fast.fast_path
    assert not any(issubclass(stock_type(c), ms.nn.BatchNorm2d)
                   for _, c in fast.model.cells_and_names())
    plain = ImageClassificationInferencer(CONFIG, pretrained=checkpoint, fast=False)
    assert plain.fast_path == []
    got = np.stack([r['pred_scores'] for r in fast(images)])
    ref = np.stack([r['pred_scores'] for r in plain(images)])
    assert np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
    # a model passed in is the caller's: not changed unless asked
    assert ImageClassificationInferencer(plain.model).fast_path == []
