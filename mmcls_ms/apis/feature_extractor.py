"""``FeatureExtractor``: images in, the model's features out (as mmpretrain).

Example:
    >>> from mmcls_ms.apis import FeatureExtractor
    >>> extractor = FeatureExtractor('vgg11bn_8xb32_in1k', pretrained=False,
    ...                              backbone=dict(out_indices=(3, 4)))  # doctest: +SKIP
    >>> feats = extractor('demo/bird.JPEG', stage='backbone')[0]          # doctest: +SKIP
    >>> [f.shape for f in feats]                                          # doctest: +SKIP
    [(512, 14, 14), (512, 7, 7)]
"""
import os
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .base import BaseInferencer, require_positive_int

# MindSpore is imported in the methods, on first use, not with the API
if TYPE_CHECKING:
    from mindspore import nn
    from mmengine.config import Config

    from mmcls_ms.weights.download import UrlMapping

FEATURE_STAGES = ('backbone', 'neck', 'pre_logits')


class FeatureExtractor(BaseInferencer):
    """Extract features with a model of the zoo, a config, or a built model.

    Args:
        model: a zoo name, a config path / ``Config``, or a model returned by
            :func:`mmcls_ms.apis.get_model`.
        pretrained: True for the zoo weights (or the config's ``load_from``),
            a checkpoint path or URL, or False.
        device: ``'cpu'``, ``'gpu'``, ``'npu'`` or None.
        **kwargs: merged into ``config.model``, e.g.
            ``backbone=dict(out_indices=(0, 1, 2, 3, 4))`` for every VGG stage.

    Example:
        >>> extractor = FeatureExtractor('configs/vgg/vgg11bn-gap_1xb32_digits.py',
        ...                              pretrained=False)
        >>> [f.shape for f in extractor(np.zeros((32, 32, 3), np.uint8))[0]]
        [(512,)]
    """

    def __init__(self, model: Union[str, 'os.PathLike[str]', 'Config', 'nn.Cell'],
                 pretrained: Union[bool, str] = True, device: Optional[str] = None,
                 mirror: Optional[str] = None, url_mapping: 'UrlMapping' = None,
                 **kwargs: Any):
        super().__init__(model, pretrained=pretrained, device=device, mirror=mirror,
                         url_mapping=url_mapping, **kwargs)
        if not callable(getattr(self.model, 'extract_feat', None)):
            raise TypeError(f'{type(self.model).__name__} has no extract_feat(inputs, stage); '
                            'FeatureExtractor needs an ImageClassifier.')
        self._extract = {}  # one compiled function per stage
        self._stage = 'neck'

    def forward(self, batch: np.ndarray) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
        """Features of a uint8 NCHW batch at the current stage, as numpy:
        an array, or a tuple of arrays for several backbone outputs."""
        import mindspore as ms
        stage = self._stage
        if stage not in self._extract:
            self._extract[stage] = ms.jit(_stage_function(self.model, stage))
        out = self._extract[stage](ms.Tensor(batch))
        if isinstance(out, (tuple, list)):
            return tuple(t.asnumpy() for t in out)
        return out.asnumpy()

    def __call__(self, inputs: Union[str, 'os.PathLike[str]', np.ndarray, Sequence[Any]],
                 batch_size: int = 1, stage: str = 'neck'
                 ) -> List[Union[np.ndarray, Tuple[np.ndarray, ...]]]:
        """Features of ``inputs``, one entry per image, in order.

        Args:
            inputs: an image path, a folder, a numpy BGR image or a list.
            batch_size: images per forward pass.
            stage: ``'neck'`` (the default; the backbone's output when there
                is no neck), ``'backbone'`` or ``'pre_logits'`` (what the
                head's last layer sees).

        Returns:
            list with one entry per image: the stage's output without the
            batch dimension, a tuple of numpy arrays (one per backbone output
            index) or one array, as the model returns it.
        """
        if stage not in FEATURE_STAGES:
            raise ValueError(f'stage must be one of {FEATURE_STAGES}, got {stage!r}.')
        if stage == 'pre_logits' and getattr(self.model, 'head', None) is None:
            raise ValueError("stage='pre_logits' needs a model with a head; use 'neck' or "
                             "'backbone'.")
        require_positive_int(batch_size, 'batch_size')
        self._stage = stage
        items = self._expand_inputs(inputs)
        outputs = []
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            packed = [self.preprocess(item, start + i) for i, item in enumerate(chunk)]
            outputs.extend(self._forward_packed(packed))
        return outputs


def _stage_function(net, stage: str):
    """``inputs -> net.extract_feat(inputs, stage)`` as a plain function
    (MindSpore's graph compiler parses a def, not a lambda in a call)."""
    def extract(inputs):
        return net.extract_feat(inputs, stage=stage)
    return extract
