"""FeatureExtractor and ImageClassificationInferencer.list_models on a small VGG."""
import os

import numpy as np
import pytest

from mmcls_ms.apis import FeatureExtractor, ImageClassificationInferencer, get_model, list_models

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TINY_BN = os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py')
IMAGES = [os.path.join(REPO, 'demo', n) for n in ('cat.JPEG', 'coffee.JPEG', 'rocket.JPEG')]


@pytest.fixture(scope='module')
def extractor():
    # two backbone outputs at 32 px: stage 3 (2x2) and stage 4 (1x1)
    return FeatureExtractor(TINY_BN, pretrained=False, backbone=dict(out_indices=(3, 4)))


def test_stages_follow_the_model(extractor):
    backbone = extractor(IMAGES[0], stage='backbone')[0]
    assert isinstance(backbone, tuple) and len(backbone) == 2
    assert backbone[0].shape == (512, 2, 2) and backbone[1].shape == (512, 1, 1)
    # the neck is a global average pool of each backbone output
    neck = extractor(IMAGES[0])[0]  # stage='neck' by default
    assert isinstance(neck, tuple) and [n.shape for n in neck] == [(512,), (512,)]
    for b, n in zip(backbone, neck):
        np.testing.assert_allclose(n, b.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    # a linear head's pre-logits are its input: the last neck output
    pre_logits = extractor(IMAGES[0], stage='pre_logits')[0]
    np.testing.assert_allclose(pre_logits, neck[-1], rtol=1e-6)
    assert not isinstance(pre_logits, tuple)


def test_features_are_those_of_the_preprocessed_image(extractor):
    import mindspore as ms
    packed = extractor.preprocess(IMAGES[1])
    direct = extractor.model.extract_feat(ms.Tensor(packed['inputs'][None]), stage='backbone')
    feats = extractor(IMAGES[1], stage='backbone')[0]
    for d, f in zip(direct, feats):
        np.testing.assert_allclose(f, d.asnumpy()[0], rtol=1e-4, atol=1e-5)


def test_batches_and_folders_agree(extractor, tmp_path):
    single = [extractor(p)[0][1] for p in IMAGES]
    batched = [f[1] for f in extractor(IMAGES, batch_size=3)]
    for a, b in zip(single, batched):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(single[0], single[1])  # different images, different features


def test_built_model_and_overrides():
    model = get_model(TINY_BN)
    feats = FeatureExtractor(model)(np.zeros((40, 40, 3), np.uint8))
    # the structure of the model's output is kept: a tuple of one output
    assert isinstance(feats[0], tuple) and [f.shape for f in feats[0]] == [(512,)]
    with pytest.raises(ValueError, match='built already'):
        FeatureExtractor(model, backbone=dict(out_indices=(4,)))


def test_bad_stage(extractor):
    with pytest.raises(ValueError, match="stage must be one of"):
        extractor(IMAGES[0], stage='head')


def test_list_models_is_the_classification_zoo():
    names = ImageClassificationInferencer.list_models()
    assert names == list_models(task='Image Classification') and names
    assert ImageClassificationInferencer.list_models('inception') == [
        n for n in names if n.startswith('inception')]
    assert ImageClassificationInferencer.list_models('no-such-model') == []
