"""Transforms (numpy + OpenCV) with mmpretrain's names and arguments."""
from .compose import Compose
from .formatting import PackInputs
from .geometric import CenterCrop, RandomCrop, RandomFlip, RandomResizedCrop, Resize, ResizeEdge
from .loading import ImageReadError, LoadImageFromFile, read_image

__all__ = ['Compose', 'PackInputs', 'CenterCrop', 'RandomCrop', 'RandomFlip',
           'RandomResizedCrop', 'Resize', 'ResizeEdge', 'ImageReadError', 'LoadImageFromFile',
           'read_image']
