"""The model zoo: model-index.yml, the metafiles, list_models and get_model."""
import os
import re

import pytest
import yaml

from mmcls_ms.apis import get_model, list_models
from mmcls_ms.apis.model_index import ModelHub, default_index_paths
from mmcls_ms.weights.download import hash_prefix_of

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

MMPRETRAIN = {  # name: (top-1, top-5, params, weights file) from the published zoo
    'inception-v3_3rdparty_8xb32_in1k': (77.57, 93.58, 23834568,
                                         'inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth'),
    'vgg11_8xb32_in1k': (68.75, 88.87, 132860000, 'vgg11_batch256_imagenet_20210208-4271cd6c.pth'),
    'vgg13_8xb32_in1k': (70.02, 89.46, 133050000, 'vgg13_batch256_imagenet_20210208-4d1d6080.pth'),
    'vgg16_8xb32_in1k': (71.62, 90.49, 138360000, 'vgg16_batch256_imagenet_20210208-db26f1a5.pth'),
    'vgg19_8xb32_in1k': (72.41, 90.80, 143670000, 'vgg19_batch256_imagenet_20210208-e6920e4a.pth'),
    'vgg11bn_8xb32_in1k': (70.67, 90.16, 132870000,
                           'vgg11_bn_batch256_imagenet_20210207-f244902c.pth'),
    'vgg13bn_8xb32_in1k': (72.12, 90.66, 133050000,
                           'vgg13_bn_batch256_imagenet_20210207-1a8b7864.pth'),
    'vgg16bn_8xb32_in1k': (73.74, 91.66, 138370000,
                           'vgg16_bn_batch256_imagenet_20210208-7e55cd29.pth'),
    'vgg19bn_8xb32_in1k': (74.68, 92.27, 143680000,
                           'vgg19_bn_batch256_imagenet_20210208-da620c4f.pth'),
}
MINDCV = {  # name: (top-1, top-5, weights file) from MindCV's default_cfgs
    'inception-v3_mindcv-8xb32_in1k': (79.11, 94.40, 'inception_v3-38f67890.ckpt'),
    'vgg11_mindcv-8xb32_in1k': (71.86, 90.50, 'vgg11-ef31d161.ckpt'),
    'vgg13_mindcv-8xb32_in1k': (72.87, 91.02, 'vgg13-da805e6e.ckpt'),
    'vgg16_mindcv-8xb32_in1k': (74.61, 91.87, 'vgg16-95697531.ckpt'),
    'vgg19_mindcv-8xb32_in1k': (75.21, 92.56, 'vgg19-bedee7b6.ckpt'),
}


def metrics_of(info):
    (result, ) = info.results
    assert result['Task'] == 'Image Classification' and result['Dataset'] == 'ImageNet-1k'
    return result['Metrics']['Top 1 Accuracy'], result['Metrics']['Top 5 Accuracy']


def test_index_is_found_and_imports_both_metafiles():
    (path, ) = default_index_paths()
    with open(path) as f:
        index = yaml.safe_load(f)
    assert index['Import'] == ['configs/inception_v3/metafile.yml', 'configs/vgg/metafile.yml']


def test_every_published_model_is_listed_with_its_numbers():
    for name, (top1, top5, params, weights) in MMPRETRAIN.items():
        info = ModelHub.get(name)
        assert metrics_of(info) == (top1, top5), name
        assert info.metadata['Parameters'] == params, name
        assert info.metadata['FLOPs'] > 5e9
        assert info.weights.startswith('https://download.openmmlab.com/mmclassification/v0/')
        assert info.weights.endswith('/' + weights)
        assert hash_prefix_of(info.weights) is not None
    for name, (top1, top5, weights) in MINDCV.items():
        info = ModelHub.get(name)
        assert metrics_of(info) == (top1, top5), name
        assert info.weights.startswith('https://download.mindspore.cn/toolkits/mindcv/')
        assert info.weights.endswith('/' + weights)
        assert info.converted_from['Weights'] == info.weights
    assert set(MMPRETRAIN) | set(MINDCV) <= set(ModelHub.names())


def test_every_config_exists_and_parses():
    for name in list(MMPRETRAIN) + list(MINDCV):
        info = ModelHub.get(name)
        assert os.path.isfile(info.config_path), info.config_path
        cfg = info.config
        assert cfg.model.type == 'ImageClassifier'
        assert cfg.test_dataloader.dataset.pipeline


def test_mindcv_configs_reproduce_mindcv_numerics():
    inception = ModelHub.get('inception-v3_mindcv-8xb32_in1k').config
    assert inception.model.backbone.pool_count_include_pad is False
    assert inception.model.backbone.dropout == 0.2
    resize, crop = inception.test_dataloader.dataset.pipeline[1:3]
    assert (resize.type, resize.scale, resize.edge, crop.crop_size) == \
        ('ResizeEdge', 341, 'short', 299)
    assert inception.data_preprocessor.mean == [123.675, 116.28, 103.53]
    vgg = ModelHub.get('vgg16_mindcv-8xb32_in1k').config
    resize, crop = vgg.test_dataloader.dataset.pipeline[1:3]
    assert (resize.scale, crop.crop_size) == (256, 224)
    # mmpretrain's Inception test pipeline: ResizeEdge 342 -> CenterCrop 299
    mm = ModelHub.get('inception-v3_3rdparty_8xb32_in1k').config
    resize, crop = mm.test_dataloader.dataset.pipeline[1:3]
    assert (resize.scale, crop.crop_size) == (342, 299)


def test_list_models():
    vgg = list_models('vgg*')
    assert vgg == sorted(vgg) and len(vgg) == 12
    assert all(n.startswith('vgg') for n in vgg)
    assert list_models('vgg16') == ['vgg16_8xb32_in1k', 'vgg16_mindcv-8xb32_in1k',
                                    'vgg16bn_8xb32_in1k']
    assert list_models('vgg', exclude_patterns=['*bn*', '*mindcv*']) == [
        'vgg11_8xb32_in1k', 'vgg13_8xb32_in1k', 'vgg16_8xb32_in1k', 'vgg19_8xb32_in1k']
    assert list_models('*mindcv*') == sorted(MINDCV)
    assert 'inception-v3_3rdparty_8xb32_in1k' in list_models(task='Image Classification')
    assert list_models(task='Image Retrieval') == []


def test_names_are_case_insensitive_and_unknown_names_suggest():
    assert ModelHub.get('VGG11BN_8xb32_in1k').name == 'vgg11bn_8xb32_in1k'
    with pytest.raises(ValueError, match=r'Did you mean: .*vgg16bn_8xb32_in1k'):
        ModelHub.get('vgg16bn_8xb32_in1')


def test_get_model_merges_kwargs():
    model = get_model('vgg11bn_8xb32_in1k', backbone=dict(num_classes=7))
    assert model.backbone.classifier[6].weight.shape == (7, 4096)
    assert model._metainfo.name == 'vgg11bn_8xb32_in1k'
    assert len(model._dataset_meta['classes']) == 1000  # ImageNet's, from the dataset type
    assert model._config.model.backbone.num_classes == 7


def test_get_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.py'):
        get_model('configs/nothere.py')
    with pytest.raises(TypeError, match='model name'):
        get_model(42)
    with pytest.raises(ValueError, match='load_from'):
        get_model(os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py'), pretrained=True)
    with pytest.raises(FileNotFoundError, match='missing.ckpt'):
        get_model(os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py'),
                  pretrained=str(tmp_path / 'missing.ckpt'))


def test_setup_ships_the_zoo():
    # setup.py links / copies these into mmcls_ms/.mim for installed packages
    with open(os.path.join(REPO, 'setup.py')) as f:
        text = f.read()
    mim = re.search(r'MIM_FILES = \(([^)]*)\)', text).group(1)
    assert "'configs'" in mim and "'model-index.yml'" in mim


def test_index_of_an_installed_copy(tmp_path, monkeypatch):
    """A wheel install copies configs/ and model-index.yml into mmcls_ms/.mim."""
    import shutil

    from mmcls_ms.apis import model_index
    package = tmp_path / 'site-packages' / 'mmcls_ms'
    mim = package / '.mim'
    mim.mkdir(parents=True)
    shutil.copyfile(os.path.join(REPO, 'model-index.yml'), mim / 'model-index.yml')
    shutil.copytree(os.path.join(REPO, 'configs'), mim / 'configs')
    monkeypatch.setattr(model_index, 'PACKAGE_DIR', str(package))
    (path, ) = model_index.default_index_paths()
    assert path == str(mim / 'model-index.yml')
    models = model_index.parse_model_index(path)
    info = models['vgg16bn_8xb32_in1k']
    assert info.config_path == str(mim / 'configs' / 'vgg' / 'vgg16bn_8xb32_in1k.py')
    assert info.config.model.backbone.depth == 16  # _base_ files resolve inside .mim


def test_index_falls_back_to_the_checkout(tmp_path, monkeypatch):
    from mmcls_ms.apis import model_index
    checkout = tmp_path / 'checkout'
    (checkout / 'mmcls_ms').mkdir(parents=True)
    (checkout / 'model-index.yml').write_text('Import: []\n')
    monkeypatch.setattr(model_index, 'PACKAGE_DIR', str(checkout / 'mmcls_ms'))
    assert model_index.default_index_paths() == [str(checkout / 'model-index.yml')]
    (checkout / 'model-index.yml').unlink()
    assert model_index.default_index_paths() == []
