"""``init_cfg``: mmengine's weight initialisation, applied before training starts.

A model part built with ``init_cfg`` (the classifier, a backbone, a head)
keeps it; :func:`init_weights` applies every part's ``init_cfg`` in
mmengine's order, which the runner does when training starts (before
``load_from`` / resume, as mmengine's ``Runner.train``):

1. the part's own initialisers other than ``Pretrained``,
2. its children, depth first,
3. its ``Pretrained`` initialiser last, so the checkpoint wins.

Types: ``Constant``, ``Normal``, ``TruncNormal``, ``Uniform``, ``Xavier``,
``Kaiming``, ``Caffe2Xavier`` (with ``layer=`` and ``override=`` as in
mmengine) and ``Pretrained`` (``checkpoint=``, ``prefix=``; any file or URL
:func:`mmcls_ms.weights.pretrained.load_pretrained` reads).  Anything else,
an unknown argument, or a ``layer=`` that names no layer kind is refused with
:class:`InitConfigError`; nothing is ignored.

``layer=`` names PyTorch layer classes, matched to MindSpore cells by what
they hold: ``Conv2d`` / ``_ConvNd`` (a 3-5-D ``weight``), ``Linear`` (a 2-D
``weight``), ``BatchNorm2d`` / ``_BatchNorm`` (``gamma``, ``beta`` and moving
statistics).  ``weight`` / ``bias`` mean ``gamma`` / ``beta`` on a BN.

Example:
    >>> backbone = MODELS.build(dict(type='VGG', depth=11, init_cfg=dict(
    ...     type='Pretrained', checkpoint='vgg11.pth', prefix='backbone')))  # doctest: +SKIP
    >>> init_weights(backbone)                                             # doctest: +SKIP
"""
import copy
import math
from typing import Callable, Dict, List, Optional

import mindspore as ms
import numpy as np

from mmcls_ms.weights.checkpoint import CheckpointError
from mmcls_ms.weights.pretrained import load_pretrained

LAYER_KINDS = {
    'conv': ('Conv1d', 'Conv2d', 'Conv3d', '_ConvNd', 'Conv'),
    'linear': ('Linear', 'Dense'),
    'bn': ('BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d', '_BatchNorm', '_NormBase', 'BN',
           'SyncBatchNorm'),
}
_KIND_OF_LAYER = {name: kind for kind, names in LAYER_KINDS.items() for name in names}


class InitConfigError(ValueError):
    """An ``init_cfg`` that mmcls_ms cannot honour."""


def _kind(cell) -> Optional[str]:
    """'conv', 'linear', 'bn' or None, from the parameters the cell itself holds
    (so oneDNN's swapped-in convolutions and fused BNs count too)."""
    own = {name: p for name, p in cell.parameters_and_names(expand=False)}
    if 'gamma' in own and 'moving_mean' in own:
        return 'bn'
    weight = own.get('weight')
    if weight is None:
        return None
    return 'linear' if len(weight.shape) == 2 else 'conv' if len(weight.shape) >= 3 else None


def _weight_and_bias(cell, kind):
    own = {name: p for name, p in cell.parameters_and_names(expand=False)}
    if kind == 'bn':
        return own.get('gamma'), own.get('beta')
    return own.get('weight'), own.get('bias')


def _assign(param, array):
    # in place: a graph compiled earlier keeps the parameter's buffer
    ms.ops.assign(param, ms.Tensor(np.ascontiguousarray(array), dtype=param.dtype))


def _rng():
    # seeded from numpy's global state, as MindSpore's initialisers (mindspore.set_seed)
    return np.random.default_rng(int(np.random.randint(1, 1 << 62, dtype=np.int64)))


def _fans(shape, type_name):
    if len(shape) < 2:
        raise InitConfigError(f'init_cfg type {type_name!r} needs a weight of 2 or more dims '
                              f'(fan in/out), but it reached one of shape {tuple(shape)} '
                              '(a BatchNorm?); restrict it with layer=.')
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _gain(nonlinearity, a=0.0):
    gains = {'linear': 1.0, 'conv1d': 1.0, 'conv2d': 1.0, 'conv3d': 1.0, 'sigmoid': 1.0,
             'tanh': 5.0 / 3, 'relu': math.sqrt(2.0), 'selu': 3.0 / 4,
             'leaky_relu': math.sqrt(2.0 / (1 + (a or 0.0) ** 2))}
    if nonlinearity not in gains:
        raise InitConfigError(f'init_cfg Kaiming nonlinearity={nonlinearity!r} is not one of '
                              f'{sorted(gains)}.')
    return gains[nonlinearity]


def _normal(shape, mean, std):
    return _rng().standard_normal(shape) * std + mean


def _trunc_normal(shape, mean, std, a, b):
    rng = _rng()
    values = rng.standard_normal(shape) * std + mean
    outside = (values < a) | (values > b)
    while outside.any():  # redraw what falls outside [a, b]
        values[outside] = rng.standard_normal(int(outside.sum())) * std + mean
        outside = (values < a) | (values > b)
    return values


def _uniform(shape, a, b):
    return _rng().uniform(a, b, shape)


def _bias_value(bias, bias_prob):
    if bias_prob is None:
        return bias
    return float(-np.log((1 - bias_prob) / bias_prob))  # mmengine's bias_init_with_prob


# Each init type: (its arguments with defaults, weight drawer(shape, **args) or None).
def _constant(shape, val):
    return np.full(shape, val)


def _xavier(shape, gain, distribution):
    fan_in, fan_out = _fans(shape, 'Xavier')
    if distribution == 'uniform':
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return _uniform(shape, -bound, bound)
    return _normal(shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming(shape, a, mode, nonlinearity, distribution):
    if mode not in ('fan_in', 'fan_out'):
        raise InitConfigError(f"init_cfg Kaiming mode={mode!r}: use 'fan_in' or 'fan_out'.")
    fan_in, fan_out = _fans(shape, 'Kaiming')
    std = _gain(nonlinearity, a) / math.sqrt(fan_in if mode == 'fan_in' else fan_out)
    if distribution == 'uniform':
        return _uniform(shape, -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
    return _normal(shape, 0.0, std)


def _distribution_checked(drawer, name):
    def draw(shape, distribution, **kwargs):
        if distribution not in ('normal', 'uniform'):
            raise InitConfigError(f"init_cfg {name} distribution={distribution!r}: use "
                                  "'normal' or 'uniform'.")
        return drawer(shape, distribution=distribution, **kwargs)
    return draw


INITIALIZERS: Dict[str, tuple] = {
    'Constant': (dict(val=None), _constant),
    'Normal': (dict(mean=0.0, std=1.0), _normal),
    'TruncNormal': (dict(mean=0.0, std=1.0, a=-2.0, b=2.0), _trunc_normal),
    'Uniform': (dict(a=0.0, b=1.0), _uniform),
    'Xavier': (dict(gain=1.0, distribution='normal'), _distribution_checked(_xavier, 'Xavier')),
    'Kaiming': (dict(a=0.0, mode='fan_out', nonlinearity='relu', distribution='normal'),
                _distribution_checked(_kaiming, 'Kaiming')),
    'Caffe2Xavier': (dict(a=1.0, mode='fan_in', nonlinearity='leaky_relu',
                          distribution='uniform'), _distribution_checked(_kaiming, 'Kaiming')),
}
_NO_TARGET = ("{where}: init_cfg {cfg} has neither layer= nor override=, so it would "
              "initialise nothing (as in mmengine). Add layer='Conv2d' / 'Linear' / "
              "'BatchNorm2d', or override=dict(name=<attribute>).")
COMMON_ARGS = dict(bias=0.0, bias_prob=None, layer=None)
PRETRAINED_ARGS = ('checkpoint', 'prefix', 'map_location')


def _type_name(cfg, where) -> str:
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise InitConfigError(f'{where}: init_cfg entries are dicts with a type, got {cfg!r}.')
    name = str(cfg['type'])
    if name.endswith('Init') and name[:-4] in INITIALIZERS or name == 'PretrainedInit':
        name = name[:-4]  # mmengine's class names (NormalInit, PretrainedInit ...)
    if name not in INITIALIZERS and name != 'Pretrained':
        raise InitConfigError(
            f'{where}: init_cfg type {cfg["type"]!r} is not supported; use one of '
            f'{sorted(INITIALIZERS) + ["Pretrained"]}, or remove it.')
    return name


def _layer_kinds(layer, where) -> List[str]:
    names = [layer] if isinstance(layer, str) else list(layer or [])
    kinds = []
    for name in names:
        if name not in _KIND_OF_LAYER:
            raise InitConfigError(
                f'{where}: layer={name!r} is not a layer kind mmcls_ms can initialise; use '
                f'{sorted(_KIND_OF_LAYER)}, or override=dict(name=<attribute>) for a part.')
        kinds.append(_KIND_OF_LAYER[name])
    return kinds


def _initializer(cfg: dict, where: str) -> Callable:
    """A function ``apply(cell, whole)`` for one non-Pretrained init_cfg entry."""
    name = _type_name(cfg, where)
    defaults, drawer = INITIALIZERS[name]
    args = {k: v for k, v in cfg.items() if k != 'type'}
    unknown = set(args) - set(defaults) - set(COMMON_ARGS)
    if unknown:
        raise InitConfigError(f'{where}: init_cfg {name} got unknown argument(s) '
                              f'{sorted(unknown)}; it takes {sorted(defaults)} and '
                              f'{sorted(COMMON_ARGS)}.')
    merged = {**defaults, **COMMON_ARGS, **args}
    if name == 'Constant' and merged['val'] is None:
        raise InitConfigError(f'{where}: init_cfg Constant needs val=.')
    kinds = _layer_kinds(merged.pop('layer'), where)
    bias = _bias_value(merged.pop('bias'), merged.pop('bias_prob'))

    def apply(cell, whole=False):
        for _, sub in cell.cells_and_names():
            kind = _kind(sub)
            if kind is None or not (whole or kind in kinds):
                continue
            weight, bias_param = _weight_and_bias(sub, kind)
            if weight is not None:
                _assign(weight, drawer(tuple(weight.shape), **merged))
            if bias_param is not None:
                _assign(bias_param, np.full(tuple(bias_param.shape), bias))
    apply.kinds = kinds
    return apply


def _apply_pretrained(cell, cfg, where):
    unknown = set(cfg) - {'type', *PRETRAINED_ARGS}
    if unknown or not cfg.get('checkpoint'):
        raise InitConfigError(f'{where}: init_cfg Pretrained takes checkpoint= (a file or URL) '
                              f'and optionally prefix=; got {dict(cfg)}.')
    report = load_pretrained(cell, cfg['checkpoint'], prefix=cfg.get('prefix'),
                             progress=False, logger=True)
    if not report.loaded_keys:
        prefix = cfg.get('prefix')
        raise CheckpointError(
            f'{where}: init_cfg Pretrained {cfg["checkpoint"]}'
            + (f" with prefix='{prefix}'" if prefix else '')
            + f' loads none of its {len(report.missing_keys)} parameters (their names are '
            'relative to this part, as in mmengine). Put the init_cfg on the part the '
            "weights belong to, e.g. model.backbone with prefix='backbone'.")
    return report


def initialize(cell, init_cfg, where: str = 'model') -> None:
    """Apply ``init_cfg`` (a dict or a list of dicts) to ``cell`` as mmengine's
    ``initialize`` does, ``Pretrained`` entries included (in the given order).

    Example:
        >>> initialize(head, dict(type='Normal', layer='Linear', std=0.01))  # doctest: +SKIP
    """
    for cfg in ([init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)):
        cfg = copy.deepcopy(dict(cfg))
        if _type_name(cfg, where) == 'Pretrained':
            _apply_pretrained(cell, cfg, where)
            continue
        override = cfg.pop('override', None)
        apply = _initializer(cfg, where)
        if not apply.kinds and override is None:
            raise InitConfigError(_NO_TARGET.format(where=where, cfg=cfg))
        apply(cell)
        if override is not None:
            cfg.pop('layer', None)
            for item in ([override] if isinstance(override, dict) else list(override)):
                item = dict(item)
                name = item.pop('name', None)
                if name is None:
                    raise InitConfigError(f'{where}: each init_cfg override needs name=.')
                if item and 'type' not in item:
                    raise InitConfigError(f'{where}: init_cfg override {name!r} has arguments '
                                          'but no type.')
                part = getattr(cell, name, None)
                if part is None or not hasattr(part, 'cells_and_names'):
                    raise InitConfigError(f'{where}: init_cfg override name={name!r}: '
                                          f'{type(cell).__name__} has no part of that name.')
                _initializer(item or cfg, f'{where}.{name}')(part, whole=True)


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def init_cfg_of(init_cfg, where: str = 'model'):
    """Check ``init_cfg`` when a model part is built (an unknown type or
    argument is refused then, not when training starts) and return it as
    plain dicts/lists for the part to keep.

    Example:
        >>> init_cfg_of(dict(type='Normal', layer='Linear', std=0.01))
        {'type': 'Normal', 'layer': 'Linear', 'std': 0.01}
    """
    if not init_cfg:
        return None
    init_cfg = _plain(init_cfg)
    if not isinstance(init_cfg, (dict, list)):
        raise InitConfigError(f'{where} must be a dict or a list of dicts, got {init_cfg!r}.')
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        if _type_name(cfg, where) == 'Pretrained':
            unknown = set(cfg) - {'type', *PRETRAINED_ARGS}
            if unknown or not cfg.get('checkpoint'):
                raise InitConfigError(f'{where}: init_cfg Pretrained takes checkpoint= (a file '
                                      f'or URL) and optionally prefix=; got {cfg}.')
            continue
        cfg = dict(cfg)
        override = cfg.pop('override', None)
        if not _initializer(cfg, where).kinds and override is None:
            raise InitConfigError(_NO_TARGET.format(where=where, cfg=cfg))
        for item in ([override] if isinstance(override, dict) else list(override or [])):
            item = {k: v for k, v in dict(item).items() if k != 'name'}
            if 'type' in item:
                _initializer(item, where)
    return init_cfg


def init_weights(model, where: str = 'model') -> None:
    """Apply the ``init_cfg`` of ``model`` and of every part below it, in
    mmengine's ``BaseModule.init_weights`` order (see the module docstring).

    Example:
        >>> init_weights(runner.model)  # doctest: +SKIP
    """
    init_cfg = getattr(model, 'init_cfg', None)
    cfgs = [] if not init_cfg else [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    pretrained = [c for c in cfgs if isinstance(c, dict) and c.get('type') in
                  ('Pretrained', 'PretrainedInit')]
    others = [c for c in cfgs if c not in pretrained]
    if others:
        initialize(model, others, where)
    for name, child in model.name_cells().items():
        init_weights(child, f'{where}.{name}')
    if pretrained:
        initialize(model, pretrained, where)
