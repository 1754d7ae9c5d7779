"""Model utilities: norm layers, initialisers, the data preprocessor."""
from .data_preprocessor import ClsDataPreprocessor
from .norm import build_norm_layer, torch_to_mindspore_momentum

__all__ = ['ClsDataPreprocessor', 'build_norm_layer', 'torch_to_mindspore_momentum']
