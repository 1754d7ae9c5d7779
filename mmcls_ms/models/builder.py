"""Build a model part (backbone, neck, head, loss, ...) from its config.

Example:
    >>> import mmcls_ms.models  # registers the model classes
    >>> type(build_model_part(dict(type='CrossEntropyLoss'), 'ClsHead loss')).__name__
    'CrossEntropyLoss'
    >>> build_model_part(None, 'ImageClassifier neck') is None
    True
"""
from typing import Optional, Union

from mindspore import nn

from mmcls_ms.registry import MODELS


def build_model_part(cfg: Union[dict, nn.Cell, None], what: str) -> Optional[nn.Cell]:
    """A config dict -> its cell, built from ``MODELS``; a cell or None passes through.

    ``what`` names the part in the error, e.g. ``'ImageClassifier backbone'``.
    """
    if cfg is None or isinstance(cfg, nn.Cell):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f"{what} must be a config dict with a 'type' key, or a Cell; got "
                        f'{type(cfg).__name__}')
    return MODELS.build(cfg)
