"""What the inferencers share: a model with its config, the config's test
pipeline, and the inputs (paths, folders, BGR arrays) turned into packed
samples.

Example:
    >>> from mmcls_ms.apis.base import BaseInferencer
    >>> BaseInferencer._expand_inputs(['demo/bird.JPEG'])
    ['demo/bird.JPEG']
"""
import os
import warnings
from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

import numpy as np

from .model import get_model

if TYPE_CHECKING:  # MindSpore is imported on first use, not with the API
    from mindspore import nn
    from mmengine.config import Config

    from mmcls_ms.weights.download import UrlMapping

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def _is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def require_positive_int(value: Any, name: str) -> None:
    """Refuse a count that is not an int >= 1 (a bool is no count), naming it.

    A slice or batch of ``k <= 0`` would silently drop items instead of keeping k.

    Example:
        >>> require_positive_int(5, 'top_k')
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive integer, got {value!r}.')


def _pipeline_config(cfg) -> list:
    """The test pipeline of a config (test, then val dataloader, then
    ``test_pipeline``), without its image-loading step."""
    pipeline = None
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset') and loader['dataset'].get('pipeline'):
            pipeline = loader['dataset']['pipeline']
            break
    if pipeline is None:
        pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        raise KeyError('The config has no test pipeline (test_dataloader.dataset.pipeline, '
                       'val_dataloader.dataset.pipeline or test_pipeline): the inferencer '
                       'needs it to preprocess images.')
    return [dict(t) for t in pipeline
            if str(t.get('type', '')).split('.')[-1] != 'LoadImageFromFile']


class BaseInferencer:
    """A model (zoo name, config or built model) with its test pipeline.

    Args:
        model: a zoo name, a config path / ``Config``, or a model returned by
            :func:`get_model` (it carries its config).
        pretrained: True for the zoo weights (or the config's ``load_from``),
            a checkpoint path or URL, or False.  Ignored for a built model.
        device: ``'cpu'``, ``'gpu'``, ``'npu'`` or None.
        mirror, url_mapping: where to fetch weights from (see
            :mod:`mmcls_ms.weights.download`).
        **kwargs: merged into ``config.model`` before building (a zoo name or
            a config only), e.g. ``backbone=dict(out_indices=(3, 4))``.

    Example:
        >>> inferencer = BaseInferencer('configs/vgg/vgg11bn-gap_1xb32_digits.py',
        ...                             pretrained=False)
        >>> inferencer.preprocess(np.zeros((40, 40, 3), np.uint8))['inputs'].shape
        (3, 32, 32)
    """

    def __init__(self, model: Union[str, 'os.PathLike[str]', 'Config', 'nn.Cell'],
                 pretrained: Union[bool, str] = True, device: Optional[str] = None,
                 mirror: Optional[str] = None, url_mapping: 'UrlMapping' = None,
                 **kwargs: Any):
        # MindSpore and the data pipeline (OpenCV) on first use: `import mmcls_ms.apis`
        # and list_models stay light
        from mindspore import nn

        from mmcls_ms.datasets.transforms import Compose
        if isinstance(model, nn.Cell):
            if kwargs:
                raise ValueError(f'Model overrides {sorted(kwargs)} need a zoo name or a config '
                                 'to build from; this model is built already.')
            if getattr(model, '_config', None) is None:
                raise ValueError(
                    'This model carries no config (`model._config`), so its test pipeline is '
                    'unknown. Build it with mmcls_ms.apis.get_model(config_or_name), or pass '
                    'the config path or zoo name instead of the model.')
            self.model = model
        else:
            if (pretrained is True and isinstance(model, (str, os.PathLike))
                    and os.fspath(model).endswith('.py')):
                from mmengine.config import Config  # mmengine only for a config file
                if not os.path.isfile(os.fspath(model)):
                    raise FileNotFoundError(f'Config file {os.fspath(model)!r} does not exist.')
                if not Config.fromfile(os.fspath(model)).get('load_from'):
                    warnings.warn(f'{os.fspath(model)} sets no `load_from` and no checkpoint was '
                                  'given: the model keeps its random initial weights. Pass '
                                  'pretrained=<checkpoint path>.')
                    pretrained = False
            self.model = get_model(model, pretrained=pretrained, device=device, mirror=mirror,
                                   url_mapping=url_mapping, **kwargs)
        self.model.set_train(False)
        self.cfg = self.model._config
        self.pipeline = Compose(_pipeline_config(self.cfg))

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _expand_inputs(inputs) -> List:
        if isinstance(inputs, (str, os.PathLike)):
            path = os.fspath(inputs)
            if os.path.isdir(path):
                files = sorted(f for f in os.listdir(path) if _is_image_file(f))
                if not files:
                    raise FileNotFoundError(f'The folder {path!r} holds no image files '
                                            f'({", ".join(IMAGE_EXTENSIONS)}).')
                return [os.path.join(path, f) for f in files]
            return [path]
        if isinstance(inputs, np.ndarray):
            return [inputs]
        if isinstance(inputs, (list, tuple)):
            expanded = []
            for item in inputs:
                expanded.extend(BaseInferencer._expand_inputs(item))
            return expanded
        raise TypeError(f'Inputs must be an image path, a folder, a numpy BGR image or a list '
                        f'of them; got {type(inputs).__name__}.')

    def _load(self, item, index: int) -> dict:
        from mmcls_ms.datasets.transforms import read_image  # OpenCV on first use
        if isinstance(item, np.ndarray):
            img = item
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if img.ndim != 3 or img.shape[2] not in (1, 3):
                raise ValueError(f'Input image {index} has shape {item.shape}; expected HxWx3 '
                                 '(BGR, as cv2.imread gives) or HxW.')
            if img.shape[2] == 1:
                img = np.repeat(img, 3, axis=2)
            if img.dtype != np.uint8:
                raise ValueError(f'Input image {index} has dtype {img.dtype}; pass uint8 pixels '
                                 '(0-255, BGR).')
            return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                        sample_idx=index)
        path = item
        if not os.path.exists(path):
            raise FileNotFoundError(f'Image file {path!r} does not exist (relative to '
                                    f'{os.getcwd()!r}).')
        if os.path.isdir(path):
            raise IsADirectoryError(f'{path!r} is a folder; pass it alone to classify every '
                                    'image in it.')
        img = read_image(path)  # raises ImageReadError naming the file if it is no image
        return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                    img_path=path, sample_idx=index)

    def preprocess(self, item: Union[str, 'os.PathLike[str]', np.ndarray],
                   index: int = 0) -> dict:
        """Load one input and run the test pipeline; returns the packed dict."""
        results = self.pipeline(self._load(item, index))
        if results is None:
            raise ValueError(f'The test pipeline dropped input {index}.')
        return results

    def forward(self, batch: np.ndarray) -> Union[np.ndarray, Tuple[np.ndarray, ...]]:
        """The model's output for a uint8 NCHW batch: an array, or a tuple of
        arrays, each with the batch first.  Each inferencer defines it; the base
        class only loads and preprocesses (as ``tools/visualization/vis_cam.py`` uses it)."""
        raise NotImplementedError(f'{type(self).__name__} runs no model: use '
                                  'ImageClassificationInferencer or FeatureExtractor.')

    def _forward_packed(self, packed: list) -> list:
        """Forward the packed inputs; returns one output per input, the batch
        dimension removed (a tuple output stays a tuple).  Inputs of different
        sizes (a pipeline without a fixed crop) go through in groups of equal
        shape."""
        outputs = [None] * len(packed)
        groups = {}
        for i, p in enumerate(packed):
            groups.setdefault(tuple(p['inputs'].shape), []).append(i)
        for indices in groups.values():
            batch = np.stack([packed[i]['inputs'] for i in indices])
            try:
                out = self.forward(batch)
            except (RuntimeError, ValueError, TypeError) as e:
                raise RuntimeError(
                    f'The model failed on an input of shape {batch.shape[1:]} (after the test '
                    f'pipeline): {str(e).splitlines()[0] if str(e) else type(e).__name__}. '
                    'Models with a fixed-size classifier (VGG without adaptive pooling) need '
                    'the crop size of their config.') from None
            for row, i in enumerate(indices):
                outputs[i] = (tuple(part[row] for part in out) if isinstance(out, tuple)
                              else out[row])
        return outputs
