"""Transforms (numpy + OpenCV) with mmpretrain's names and arguments."""
from .auto_augment import (AutoAugment, AutoContrast, Brightness, ColorTransform, Contrast,
                           Cutout, Equalize, Invert, Posterize, RandAugment, Rotate, Sharpness,
                           Shear, Solarize, SolarizeAdd, Translate)
from .color import ColorJitter
from .compose import Compose
from .erasing import RandomErasing
from .formatting import PackInputs
from .geometric import CenterCrop, RandomCrop, RandomFlip, RandomResizedCrop, Resize, ResizeEdge
from .loading import ImageReadError, LoadImageFromFile, decode_image, read_image
from .test_time_aug import TestTimeAug

__all__ = ['AutoAugment', 'AutoContrast', 'Brightness', 'ColorTransform', 'Contrast', 'Cutout',
           'Equalize', 'Invert', 'Posterize', 'RandAugment', 'Rotate', 'Sharpness', 'Shear',
           'Solarize', 'SolarizeAdd', 'Translate', 'ColorJitter', 'Compose', 'RandomErasing',
           'PackInputs', 'CenterCrop', 'RandomCrop', 'RandomFlip', 'RandomResizedCrop', 'Resize',
           'ResizeEdge', 'ImageReadError', 'LoadImageFromFile', 'read_image', 'decode_image',
           'TestTimeAug']
