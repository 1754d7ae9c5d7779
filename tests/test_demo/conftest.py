"""A digits checkpoint that tells the digits apart, made in seconds: the
quickstart VGG-11-BN with its seeded random convolutions, and a linear head
fitted in closed form (ridge regression) to their pooled features of 400
real training PNGs.  Training the whole network takes minutes on 2 cores."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # the helpers next to this file
from digits_files import DIGITS_CONFIG, digit_files, digits_input_size  # noqa: E402


@pytest.fixture(scope='session')
def digits_checkpoint(tmp_path_factory):
    """``(checkpoint path, digits root)``."""
    import mindspore as ms

    from mmcls_ms.apis import get_model
    from mmcls_ms.datasets import prepare_digits
    from mmcls_ms.weights.checkpoint import save_checkpoint
    tmp = tmp_path_factory.mktemp('digits_model')
    root = prepare_digits(str(tmp / 'digits'))
    files = digit_files(root, 'train', 40)
    # the size the config's test pipeline resizes to, so that the head is fitted on the
    # features the demo computes
    size = digits_input_size()
    images = np.stack([cv2.resize(cv2.imread(f), (size, size), interpolation=cv2.INTER_LINEAR)
                       .transpose(2, 0, 1) for f in files])
    labels = np.array([int(osp.basename(osp.dirname(f))) for f in files])
    ms.set_seed(0)
    # as the demo builds it: with the config's data_preprocessor (mean and std)
    model = get_model(DIGITS_CONFIG)
    model.set_train(False)
    features = model.extract_feat(ms.Tensor(images), stage='neck')
    features = (features[-1] if isinstance(features, (tuple, list)) else features).asnumpy()
    x = np.hstack([features.astype(np.float64), np.ones((len(features), 1))])
    w = np.linalg.solve(x.T @ x + 1e-2 * np.eye(x.shape[1]), x.T @ np.eye(10)[labels])
    w *= 20  # targets in [0, 1] give flat softmax scores; the argmax is the same
    model.head.fc.weight.set_data(ms.Tensor(w[:-1].T.astype(np.float32)))
    model.head.fc.bias.set_data(ms.Tensor(w[-1].astype(np.float32)))
    checkpoint = str(tmp / 'digits_ridge_head.ckpt')
    save_checkpoint(model, checkpoint, meta=dict(epoch=1))
    return checkpoint, root
