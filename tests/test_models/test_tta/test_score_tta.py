"""AverageClsScoreTTA: the mean softmax of the views, the module's weights."""
import numpy as np
import mindspore as ms

from mmcls_ms.models import AverageClsScoreTTA, ImageClassifier

TINY = dict(type='ImageClassifier',
            backbone=dict(type='VGG', depth=11, num_classes=-1, num_stages=2,
                          norm_cfg=dict(type='BN')),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=128))


def test_scores_are_the_mean_of_the_views():
    tta = AverageClsScoreTTA(module=TINY)
    tta.set_train(False)
    assert isinstance(tta.module, ImageClassifier)
    views = np.random.default_rng(0).integers(0, 256, (3, 2, 3, 16, 16)).astype(np.uint8)
    scores, labels = tta.predict(ms.Tensor(views))
    per_view = [tta.module.predict(ms.Tensor(views[:, v]))[0].asnumpy() for v in range(2)]
    assert not np.allclose(per_view[0], per_view[1], atol=1e-4)
    np.testing.assert_allclose(scores.asnumpy(), (per_view[0] + per_view[1]) / 2,
                               rtol=1e-5, atol=1e-6)
    assert labels.asnumpy().tolist() == scores.asnumpy().argmax(1).tolist()
    # a plain batch is one view
    plain, _ = tta.predict(ms.Tensor(views[:, 0]))
    np.testing.assert_allclose(plain.asnumpy(), per_view[0], rtol=1e-6)


def test_parameter_names_are_the_modules():
    tta = AverageClsScoreTTA(module=TINY, data_preprocessor=dict(mean=[1, 2, 3], std=[1, 1, 1]))
    names = [n for n, _ in tta.parameters_and_names()]
    assert names == [n for n, _ in tta.module.parameters_and_names()]
    assert names[0].startswith('backbone.')
    # the runner's top-level data_preprocessor reaches the module
    np.testing.assert_allclose(tta.module.data_preprocessor.mean.asnumpy().ravel(), [1, 2, 3])
