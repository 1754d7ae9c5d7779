"""``get_model`` / ``init_model`` / ``inference_model``, as in mmpretrain.

Example:
    >>> from mmcls_ms.apis import get_model, inference_model
    >>> model = get_model('vgg11bn_8xb32_in1k', head=dict(topk=(1,)))  # random weights
    >>> result = inference_model(model, 'demo/bird.JPEG')               # doctest: +SKIP
    >>> sorted(result)                                                 # doctest: +SKIP
    ['pred_class', 'pred_label', 'pred_score', 'pred_scores']
"""
import copy
import inspect
import os
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmcls_ms.registry import DATASETS, MODELS
from mmcls_ms.utils.device import check_device_target
from mmcls_ms.utils.logging import print_log
from mmcls_ms.weights.checkpoint import load_checkpoint, require_backbone
from mmcls_ms.ops.cpu_backend import select_conv_backend
from mmcls_ms.weights.download import UrlMapping
from mmcls_ms.weights.pretrained import checkpoint_meta, prepare_checkpoint
from .model_index import ModelHub, ModelInfo

if TYPE_CHECKING:  # MindSpore is imported on first use, not with the API
    from mindspore import nn

_DEVICES = {'cpu': 'CPU', 'cuda': 'GPU', 'gpu': 'GPU', 'npu': 'Ascend', 'ascend': 'Ascend'}


def set_device(device: Optional[str]) -> None:
    """Select the MindSpore device: ``'cpu'``, ``'gpu'``/``'cuda'``, ``'npu'``/``'ascend'``
    (an index such as ``'cuda:1'`` picks the card).  None keeps MindSpore's choice."""
    if device is None:
        return
    import mindspore as ms  # MindSpore loads on first use: `import mmcls_ms.apis` and list_models stay light
    kind, _, index = str(device).partition(':')
    target = _DEVICES.get(kind.lower())
    if target is None:
        raise ValueError(f'Unknown device {device!r}; use one of {sorted(_DEVICES)} '
                         "(optionally with ':<index>').")
    check_device_target(target, key='device')
    try:
        if index:
            ms.set_device(target, int(index))
        else:
            ms.set_device(target)
    except RuntimeError as e:
        # MindSpore allows choosing the device once per process
        current = ms.get_context('device_target')
        if current != target:
            raise RuntimeError(f'Cannot switch to device {device!r}: this process already runs '
                               f'on {current} ({e}). Start a new process.') from None


def _load_config(model) -> tuple:
    """``(cfg, metainfo)`` from a name, a config path or a Config."""
    if isinstance(model, Config):
        return copy.deepcopy(model), None
    if isinstance(model, dict):
        return Config(copy.deepcopy(model)), None
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f'model must be a model name, a config path or a Config, got '
                        f'{type(model).__name__}.')
    model = os.fspath(model)
    if model.endswith('.py'):
        if not os.path.isfile(model):
            raise FileNotFoundError(f'Config file {model!r} does not exist (relative to '
                                    f'{os.getcwd()!r}).')
        return Config.fromfile(model), None
    info = ModelHub.get(model)
    return info.config, info


def classes_of_dataset_type(dataset_type: Optional[str]) -> Optional[Tuple[str, ...]]:
    """The class names a dataset type defines, or None.  Uses the class's
    ``METAINFO['classes']`` (mmpretrain's convention) when present."""
    if not dataset_type:
        return None
    try:
        dataset_cls = DATASETS.get(dataset_type)
    except Exception:  # a registry that cannot import its package: no names
        dataset_cls = None
    classes = (getattr(dataset_cls, 'METAINFO', None) or {}).get('classes')
    if classes:
        return tuple(classes)
    name = dataset_type.split('.')[-1]
    from mmcls_ms.datasets import categories  # the datasets package loads OpenCV: on use
    if name in ('ImageNet', 'ImageNet1k'):
        return tuple(categories.imagenet_categories())
    if name == 'Digits' and hasattr(categories, 'DIGITS_CATEGORIES'):
        return tuple(categories.DIGITS_CATEGORIES)
    return None


def _dataset_type(cfg) -> Optional[str]:
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset') and loader['dataset'].get('type'):
            return loader['dataset']['type']
    return cfg.get('dataset_type')


def get_model(model: Union[str, Config], pretrained: Union[bool, str] = False,
              device: Optional[str] = None, device_map: Any = None,
              offload_folder: Optional[str] = None, url_mapping: UrlMapping = None,
              mirror: Optional[str] = None, **kwargs) -> 'nn.Cell':
    """Build a model from a zoo name, a config path or a Config, optionally
    with weights.

    Args:
        model: e.g. ``'inception-v3_3rdparty_8xb32_in1k'``,
            ``'configs/vgg/vgg16_8xb32_in1k.py'`` or a ``Config``.
        pretrained: True for the zoo weights of a name (or the config's
            ``load_from``), a local checkpoint path (``.ckpt``, ``.safetensors``,
            ``.pth``, MindCV ``.ckpt``) or a URL.  URLs are cached, verified
            and converted (see :mod:`mmcls_ms.weights.download`).
        device: ``'cpu'``, ``'gpu'``/``'cuda'``, ``'npu'``; None keeps the default.
        device_map, offload_folder: accepted for mmpretrain compatibility; unused.
        url_mapping: ``(regex, replacement)`` rewriting the weight URL.
        mirror: a folder or base URL holding the weight files.
        **kwargs: merged into ``cfg.model``, e.g. ``head=dict(num_classes=10)``.

    Returns:
        The ``mindspore.nn.Cell`` in eval mode, with ``_dataset_meta``
        (``{'classes': ...}`` or None), ``_config`` and ``_metainfo``.

    Example:
        >>> model = get_model('vgg11bn_8xb32_in1k', backbone=dict(num_classes=10))
        >>> model._metainfo.name
        'vgg11bn_8xb32_in1k'
    """
    del device_map, offload_folder
    cfg, metainfo = _load_config(model)
    if pretrained is True:
        if metainfo is not None:
            pretrained = metainfo.weights
            if not pretrained:
                raise ValueError(f'Model {metainfo.name!r} has no published weights; pass '
                                 'pretrained=<checkpoint path> or pretrained=False.')
        else:
            pretrained = cfg.get('load_from')
            if not pretrained:
                raise ValueError('pretrained=True needs a zoo model name, or `load_from` in '
                                 'the config; pass pretrained=<checkpoint path or URL>.')
    if 'model' not in cfg:
        raise KeyError('The config has no `model` section to build.')
    if kwargs:
        cfg.merge_from_dict({'model': kwargs})
    if cfg.model.get('data_preprocessor') is None and cfg.get('data_preprocessor'):
        preprocessor = copy.deepcopy(cfg.data_preprocessor)
        cfg.model['data_preprocessor'] = preprocessor
    set_device(device)

    checkpoint = None
    if pretrained:
        # fetch and convert first: the weights may need config changes
        # (MindCV's InceptionV3 averages without padding), merged before building
        checkpoint = prepare_checkpoint(pretrained, mirror=mirror, url_mapping=url_mapping)
        overrides = checkpoint_meta(checkpoint).get('model_overrides')
        if overrides:
            cfg.merge_from_dict({'model': overrides})

    if 'conv_backend' in (cfg.get('env_cfg') or {}):
        select_conv_backend(cfg.env_cfg.conv_backend)
    with DefaultScope.overwrite_default_scope('mmcls_ms'):
        net = MODELS.build(cfg.model)  # with the CPU backend env_cfg.conv_backend chose

    dataset_meta = None
    if checkpoint:
        report = load_checkpoint(net, checkpoint, strict=False, logger=False)
        require_backbone(report)  # refuses a missing backbone, warns about a head
        _warn_if_incomplete(report, pretrained)
        meta = report.meta or {}
        if meta.get('dataset_meta'):
            dataset_meta = dict(meta['dataset_meta'])
        elif meta.get('CLASSES'):
            dataset_meta = {'classes': tuple(meta['CLASSES'])}
    if dataset_meta is None:
        classes = classes_of_dataset_type(_dataset_type(cfg))
        if classes is not None:
            dataset_meta = {'classes': classes}
    net._dataset_meta = dataset_meta
    net._config = cfg
    net._metainfo = metainfo
    net.set_train(False)
    return net


def _warn_if_incomplete(report, source):
    """Say which checkpoint entries the model has no place for (non-strict, as
    mmpretrain); model parameters that did not load were reported already."""
    if report.ok or report.unfit_keys:
        return
    print_log(f'Weights from {source} do not fully fit the model:\n{report.table()}',
              level=30)


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: Optional[str] = None, **kwargs) -> 'nn.Cell':
    """mmpretrain's older entry: ``get_model(config, pretrained=checkpoint)``.

    Example:
        >>> model = init_model('configs/vgg/vgg11bn_8xb32_in1k.py')  # doctest: +SKIP
    """
    return get_model(config, pretrained=checkpoint or False, device=device, **kwargs)


def inference_model(model: Union[str, Config, 'nn.Cell'], *args, **kwargs) -> dict:
    """Classify one image with a model, a zoo name or a config path.

    Unlike mmpretrain, a model built from a config path (no zoo entry) works
    too: every model here is an image classifier.

    Keyword arguments of :class:`ImageClassificationInferencer`'s constructor
    (``pretrained``, ``device``, ``classes``, ``mirror``, ``url_mapping``,
    ``fast``: the inference fast path, on by default) go to it, the others to its
    ``__call__``.

    Returns:
        dict with ``pred_scores``, ``pred_label``, ``pred_score`` and, when the
        classes are known, ``pred_class``.

    Example:
        >>> result = inference_model('inception-v3_3rdparty_8xb32_in1k',
        ...                          'demo/bird.JPEG')  # doctest: +SKIP
    """
    from .image_classification import ImageClassificationInferencer  # it imports this module
    if isinstance(model, str) and not model.endswith('.py'):
        info = ModelHub.get(model)  # clear error for unknown names, before building
        tasks = [t.lower() for t in info.tasks]
        if tasks and 'image classification' not in tasks:
            raise ValueError(f'Model {info.name!r} is for {info.tasks}; only image '
                             'classification is supported.')
    init_names = set(inspect.signature(ImageClassificationInferencer.__init__).parameters)
    init_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in init_names}
    inferencer = ImageClassificationInferencer(model, **init_kwargs)
    return inferencer(*args, **kwargs)[0]


__all__ = ['get_model', 'init_model', 'inference_model', 'ModelInfo', 'set_device',
           'classes_of_dataset_type']
