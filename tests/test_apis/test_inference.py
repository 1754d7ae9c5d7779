"""ImageClassificationInferencer / inference_model on a small VGG (32x32)."""
import os

import cv2
import numpy as np
import pytest

from mmcls_ms.apis import ImageClassificationInferencer, get_model, inference_model
from mmcls_ms.datasets.transforms import ImageReadError
from mmcls_ms.structures import DataSample

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TINY_BN = os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py')
DEMO = os.path.join(REPO, 'demo')
IMAGES = [os.path.join(DEMO, n) for n in ('cat.JPEG', 'coffee.JPEG', 'rocket.JPEG')]


@pytest.fixture(scope='module')
def inferencer():
    model = get_model(TINY_BN)  # a model built from a config path
    return ImageClassificationInferencer(model)


def test_result_fields(inferencer):
    result = inferencer(IMAGES[0])[0]
    assert set(result) == {'pred_scores', 'pred_label', 'pred_score', 'pred_class'}
    scores = result['pred_scores']
    assert isinstance(scores, np.ndarray) and scores.shape == (10,)
    assert abs(float(scores.sum()) - 1.0) < 1e-5 and (scores >= 0).all()
    assert isinstance(result['pred_label'], int) and result['pred_label'] == scores.argmax()
    assert isinstance(result['pred_score'], float) and result['pred_score'] == scores.max()
    # the Digits dataset type of the config names the classes
    assert result['pred_class'] == str(result['pred_label'])


def test_batches_paths_arrays_and_folders_agree(inferencer):
    one_by_one = inferencer(IMAGES, batch_size=1)
    batched = inferencer(IMAGES, batch_size=3)
    for a, b in zip(one_by_one, batched):
        np.testing.assert_allclose(a['pred_scores'], b['pred_scores'], rtol=1e-4, atol=1e-6)
    from_array = inferencer(cv2.imread(IMAGES[1]))[0]  # numpy BGR, as cv2 reads it
    np.testing.assert_allclose(from_array['pred_scores'], one_by_one[1]['pred_scores'],
                               rtol=1e-5, atol=1e-7)
    from_folder = inferencer(DEMO, batch_size=2)
    assert len(from_folder) == 4  # bird, cat, coffee, rocket: sorted by name
    for a, b in zip(from_folder[1:], one_by_one):
        np.testing.assert_allclose(a['pred_scores'], b['pred_scores'], rtol=1e-4, atol=1e-6)


def test_preprocessing_is_the_test_pipeline(inferencer):
    packed = inferencer.preprocess(IMAGES[0])
    img = cv2.imread(IMAGES[0])  # 451 x 300: short edge 300 -> 36, then a 32 crop
    h, w = img.shape[:2]
    resized = cv2.resize(img, (int(36 * w / h), 36), interpolation=cv2.INTER_LINEAR)
    top, left = (36 - 32) // 2, (resized.shape[1] - 32) // 2
    expected = resized[top:top + 32, left:left + 32].transpose(2, 0, 1)
    assert packed['inputs'].shape == (3, 32, 32) and packed['inputs'].dtype == np.uint8
    assert np.abs(packed['inputs'].astype(int) - expected.astype(int)).max() <= 1


def test_datasamples_and_drawing(inferencer, tmp_path):
    samples = inferencer(IMAGES[:2], return_datasamples=True, batch_size=2)
    assert all(isinstance(s, DataSample) for s in samples)
    assert samples[0].pred_score.shape == (10,) and int(samples[0].pred_label[0]) >= 0
    results = inferencer(IMAGES[0], show_dir=str(tmp_path))
    drawn = cv2.imread(results[0]['visualization'])
    assert drawn is not None and drawn.shape[0] > 0


def test_show_needs_a_display_and_a_wait_time_of_zero_or_more(inferencer, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(RuntimeError, match='show=True: there is no display.*show_dir'):
        inferencer(IMAGES[0], show=True)
    monkeypatch.setenv('DISPLAY', ':0')
    with pytest.raises(ValueError, match='wait_time must be >= 0'):
        inferencer(IMAGES[0], show=True, wait_time=-1)


def test_classes_argument():
    names = [f'n{i}' for i in range(10)]
    result = inference_model(TINY_BN, IMAGES[0], pretrained=False, classes=names)
    assert result['pred_class'] == names[result['pred_label']]


def test_inference_model_accepts_a_model_built_from_a_config():
    # mmpretrain raises NotImplementedError here (the model has no zoo entry)
    model = get_model(TINY_BN)
    assert model._metainfo is None and model._config is not None
    result = inference_model(model, IMAGES[2])
    assert abs(float(result['pred_scores'].sum()) - 1.0) < 1e-5


def test_small_image_is_handled(inferencer, tmp_path):
    tiny = (np.arange(10 * 7 * 3) % 255).astype(np.uint8).reshape(10, 7, 3)
    path = str(tmp_path / 'tiny.png')
    cv2.imwrite(path, tiny)
    result = inferencer(path)[0]  # ResizeEdge enlarges it before the crop
    assert result['pred_scores'].shape == (10,)


def test_missing_image(inferencer):
    with pytest.raises(FileNotFoundError, match='nothere.jpg'):
        inferencer('nothere.jpg')


def test_non_image_file(inferencer, tmp_path):
    bad = tmp_path / 'notes.jpg'
    bad.write_text('this is not an image')
    with pytest.raises(ImageReadError, match='notes.jpg'):
        inferencer(str(bad))


def test_bad_array(inferencer):
    with pytest.raises(ValueError, match='shape'):
        inferencer(np.zeros((4, 4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        inferencer(np.zeros((8, 8, 3), np.float32))


def test_unknown_model_name_suggests_close_ones():
    with pytest.raises(ValueError) as info:
        inference_model('inception-v3_3rdparty_8xb32_in1', IMAGES[0])
    assert 'inception-v3_3rdparty_8xb32_in1k' in str(info.value)
    # mmpretrain's trap: the config stem is not a model name
    with pytest.raises(ValueError, match='name of a config file'):
        get_model('inception-v3_8xb32_in1k')


def test_model_without_config_is_refused():
    from mmcls_ms.registry import MODELS
    bare = MODELS.build(dict(type='ImageClassifier',
                             backbone=dict(type='VGG', depth=11, num_classes=-1),
                             neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=3, in_channels=512)))
    with pytest.raises(ValueError, match='get_model'):
        ImageClassificationInferencer(bare)


def test_init_model_is_get_model_with_a_checkpoint(tmp_path):
    from mmcls_ms.apis import init_model
    from mmcls_ms.weights.checkpoint import save_checkpoint
    source = get_model(TINY_BN)
    path = save_checkpoint(source, str(tmp_path / 'tiny.ckpt'),
                           meta=dict(dataset_meta=dict(classes=[f'c{i}' for i in range(10)])))
    model = init_model(TINY_BN, path, device='cpu')
    assert model._dataset_meta['classes'][3] == 'c3'
    a = dict(source.parameters_and_names())['head.fc.weight'].asnumpy()
    b = dict(model.parameters_and_names())['head.fc.weight'].asnumpy()
    np.testing.assert_array_equal(a, b)
    result = inference_model(model, IMAGES[0])
    assert result['pred_class'] == f'c{result["pred_label"]}'
