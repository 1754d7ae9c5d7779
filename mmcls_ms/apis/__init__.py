"""Inference API, as in mmpretrain: the model zoo, model building, inference.

Example:
    >>> from mmcls_ms.apis import list_models, get_model, inference_model
    >>> list_models('vgg16')
    ['vgg16_8xb32_in1k', 'vgg16_mindcv-8xb32_in1k', 'vgg16bn_8xb32_in1k']
"""
from .cam import compute_cam, default_target_layers, overlay_cam
from .feature_extractor import FeatureExtractor
from .image_classification import ImageClassificationInferencer
from .model import get_model, inference_model, init_model
from .model_index import ModelHub, list_models, register_model_index

__all__ = ['list_models', 'get_model', 'init_model', 'inference_model', 'ModelHub',
           'register_model_index', 'ImageClassificationInferencer', 'FeatureExtractor',
           'compute_cam', 'default_target_layers', 'overlay_cam']
