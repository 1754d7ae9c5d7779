"""mmcls_ms: OpenMMLab-style image classification on MindSpore.

Example:
    >>> from mmcls_ms import inference_model            # doctest: +SKIP
    >>> inference_model('vgg16_8xb32_in1k', 'demo/bird.JPEG')['pred_class']  # doctest: +SKIP
"""
# First, before anything imports MindSpore: choose a fast oneDNN ISA cap.
from .ops.cpu_backend import ONEDNN_DECISION  # noqa: F401
from .version import __version__

_API = ('list_models', 'get_model', 'init_model', 'inference_model',
        'ImageClassificationInferencer')

__all__ = ['__version__', 'ONEDNN_DECISION', *_API]


def __getattr__(name):
    # the inference API, as in mmpretrain's `from .apis import *`, imported on
    # first use so that `import mmcls_ms` stays light
    if name in _API:
        from . import apis
        return getattr(apis, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
