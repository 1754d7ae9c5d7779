"""Unknown ``type=`` errors name the registry and scope and suggest close names."""
import pytest

from mmcls_ms.registry import MODELS


def test_unknown_type_names_registry_scope_and_suggestions():
    with pytest.raises(KeyError) as info:
        MODELS.build(dict(type='ImageClasifier', backbone=dict(type='VGG', depth=11)))
    message = str(info.value)
    assert "'model' registry" in message and "'mmcls_ms'" in message
    assert "Did you mean 'ImageClassifier'" in message


def test_unknown_nested_type_is_reported():
    with pytest.raises(KeyError) as info:
        MODELS.build(dict(type='ImageClassifier', backbone=dict(type='VGGG', depth=11)))
    assert "'VGGG'" in str(info.value) and "'VGG'" in str(info.value)


def test_all_model_classes_registered():
    import mmcls_ms.models  # noqa: F401
    for name in ('ImageClassifier', 'InceptionV3', 'VGG', 'GlobalAveragePooling', 'ClsHead',
                 'LinearClsHead', 'CrossEntropyLoss', 'LabelSmoothLoss', 'ClsDataPreprocessor'):
        assert MODELS.get(name) is not None, name
