"""Build an optimizer from ``optim_wrapper`` with mmengine's ``paramwise_cfg``.

Rules, in mmengine's order:

1. ``custom_keys``: the longest key contained in a parameter's name gives its
   ``lr_mult`` and ``decay_mult``.
2. otherwise ``norm_decay_mult`` applies to the gamma/beta of norm layers and
   ``bias_decay_mult`` to the biases of other layers.

Parameters with equal (lr_mult, weight decay) share a group.

Example:
    >>> opt = build_optimizer(model, dict(
    ...     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    ...     paramwise_cfg=dict(norm_decay_mult=0.0,
    ...                        custom_keys={'head': dict(lr_mult=10)})))  # doctest: +SKIP
"""
from collections import OrderedDict

from mindspore import nn

from mmcls_ms.registry import OPTIMIZERS
from mmcls_ms.utils.cells import stock_type
from .base import ParamGroup

_PARAMWISE_KEYS = {'custom_keys', 'norm_decay_mult', 'bias_decay_mult', 'bypass_duplicate'}


def norm_param_names(model: nn.Cell) -> set:
    """Names of the affine parameters of every normalisation layer."""
    names = set()
    norm_types = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)
    for _, cell in model.cells_and_names():
        if issubclass(stock_type(cell), norm_types):  # also the backend's fused BN + ReLU
            names.update(p.name for p in cell.get_parameters(expand=False))
    return names


def param_groups(model: nn.Cell, weight_decay: float, paramwise_cfg: dict = None) -> list:
    """Split the trainable parameters into :class:`ParamGroup` s."""
    paramwise_cfg = dict(paramwise_cfg or {})
    unknown = set(paramwise_cfg) - _PARAMWISE_KEYS
    if unknown:
        raise KeyError(f'optim_wrapper.paramwise_cfg: unsupported keys {sorted(unknown)}; '
                       f'supported: {sorted(_PARAMWISE_KEYS)}.')
    custom_keys = paramwise_cfg.get('custom_keys', {}) or {}
    sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
    norm_mult = paramwise_cfg.get('norm_decay_mult')
    bias_mult = paramwise_cfg.get('bias_decay_mult')
    norm_names = norm_param_names(model) if norm_mult is not None else set()

    groups = OrderedDict()
    for param in model.trainable_params():
        name = param.name
        lr_mult, decay_mult = 1.0, 1.0
        for key in sorted_keys:
            if key in name:
                lr_mult = custom_keys[key].get('lr_mult', 1.0)
                decay_mult = custom_keys[key].get('decay_mult', 1.0)
                break
        else:
            if name in norm_names:
                decay_mult = norm_mult
            elif bias_mult is not None and name.endswith('.bias'):
                decay_mult = bias_mult
        key = (float(lr_mult), float(weight_decay * decay_mult))
        groups.setdefault(key, []).append(param)
    return [ParamGroup(params, lr_mult, wd) for (lr_mult, wd), params in groups.items()]


def build_optimizer(model: nn.Cell, optim_wrapper_cfg: dict):
    """Build the optimizer Cell named in ``optim_wrapper_cfg['optimizer']``."""
    if 'optimizer' not in optim_wrapper_cfg:
        raise KeyError('`optim_wrapper` has no `optimizer`: add e.g. '
                       "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)).")
    opt_cfg = dict(optim_wrapper_cfg['optimizer'])
    if 'lr' not in opt_cfg:
        raise KeyError(f"optim_wrapper.optimizer ({opt_cfg.get('type')}) needs an `lr`.")
    weight_decay = opt_cfg.get('weight_decay', 0.0)
    groups = param_groups(model, weight_decay, optim_wrapper_cfg.get('paramwise_cfg'))
    opt_cfg['params'] = groups
    opt_cfg.pop('weight_decay', None)
    return OPTIMIZERS.build(opt_cfg)
