"""Datasets, transforms, samplers and the MindSpore data loader.

Importing this package registers everything in ``DATASETS``, ``TRANSFORMS``
and ``DATA_SAMPLERS``.
"""
from .base_dataset import BaseDataset, sample_rng
from .categories import DIGITS_CATEGORIES, imagenet_categories
from .custom import IMG_EXTENSIONS, CustomDataset
from .dataset_wrappers import (ClassBalancedDataset, ConcatDataset, EmptyDatasetError,
                               KFoldDataset, RepeatDataset, check_dataset_cfg)
from .digits import Digits, prepare_digits
from .imagenet import ImageNet
from .loader import DataLoader, build_dataloader
from .samplers import DefaultSampler
from .transforms import *  # noqa: F401,F403

__all__ = ['BaseDataset', 'sample_rng', 'DIGITS_CATEGORIES', 'imagenet_categories',
           'IMG_EXTENSIONS', 'CustomDataset', 'Digits', 'prepare_digits', 'ImageNet',
           'DataLoader', 'build_dataloader', 'DefaultSampler', 'RepeatDataset',
           'ClassBalancedDataset', 'ConcatDataset', 'KFoldDataset', 'EmptyDatasetError',
           'check_dataset_cfg']
