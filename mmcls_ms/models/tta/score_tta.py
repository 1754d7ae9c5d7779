"""``AverageClsScoreTTA``: the mean of the softmax scores of several views.

``tools/test.py --tta`` wraps the config's model in it (mmpretrain's
``tta_model``); the test pipeline's ``TestTimeAug`` gives ``(N, V, C, H, W)``
batches.  The wrapper adds no name prefix, so a checkpoint of the plain model
loads into it unchanged.

Example:
    >>> import numpy as np, mindspore as ms
    >>> tta = AverageClsScoreTTA(module=dict(
    ...     type='ImageClassifier', backbone=dict(type='VGG', depth=11, num_classes=-1),
    ...     neck=dict(type='GlobalAveragePooling'),
    ...     head=dict(type='LinearClsHead', num_classes=10, in_channels=512)))
    >>> scores, labels = tta.predict(ms.Tensor(np.zeros((1, 2, 3, 32, 32), np.uint8)))
    >>> scores.shape
    (1, 10)
"""
from mindspore import nn, ops

from mmcls_ms.registry import MODELS


@MODELS.register_module()
class AverageClsScoreTTA(nn.Cell):
    """Test-time augmentation by score averaging.

    Args:
        module: the classifier (a config dict or a built Cell).
        data_preprocessor: passed on to ``module`` when it is a config without
            one (the runner adds the config's top-level preprocessor here).

    ``predict(inputs)`` takes ``(N, V, C, H, W)`` views and returns the mean of
    the V softmax scores and its arg-max (mmpretrain keeps view 0's label;
    here the label always agrees with the reported scores).  A plain
    ``(N, C, H, W)`` batch is one view.
    """

    def __init__(self, module, data_preprocessor=None):
        super().__init__(auto_prefix=False)
        if isinstance(module, dict):
            module = dict(module)
            if data_preprocessor is not None:
                module.setdefault('data_preprocessor', data_preprocessor)
            module = MODELS.build(module)
        if not callable(getattr(module, 'predict', None)):
            raise TypeError(f'AverageClsScoreTTA needs a classifier with predict(), got '
                            f'{type(module).__name__}.')
        self.module = module

    def parameters_and_names(self, name_prefix='', expand=True):
        # the module's own names (no 'module.' prefix): checkpoints of the plain
        # model load, and save, unchanged
        return self.module.parameters_and_names(name_prefix, expand)

    def predict(self, inputs):
        if inputs.ndim == 4:
            return self.module.predict(inputs)
        n, v = inputs.shape[0], inputs.shape[1]
        scores, labels = self.module.predict(
            inputs.reshape((n * v,) + tuple(inputs.shape[2:])))
        scores = scores.reshape((n, v, -1)).mean(axis=1)
        return scores, ops.argmax(scores, dim=-1).astype(labels.dtype)

    def construct(self, inputs):
        return self.predict(inputs)[0]
