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
import numbers
from collections import OrderedDict

from mindspore import nn

from mmcls_ms.registry import OPTIM_WRAPPERS, OPTIMIZERS
from mmcls_ms.utils.config import ConfigValueError
from mmcls_ms.utils.cells import stock_type
from .base import ParamGroup
from .optim_wrapper import check_accumulative_counts

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


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def _non_negative(value) -> bool:
    return _number(value) and value >= 0


def _fraction(value) -> bool:  # in [0, 1)
    return _number(value) and 0 <= value < 1


# the hyper-parameters that have a range: the test and how the message says it
VALUE_RULES = {
    'lr': (_non_negative, '>= 0'),
    'weight_decay': (_non_negative, '>= 0'),
    'momentum': (_fraction, 'in [0, 1)'),
    'alpha': (lambda v: _number(v) and 0 <= v <= 1, 'in [0, 1]'),
    'eps': (lambda v: _number(v) and v > 0, '> 0'),
}


def check_optimizer_values(opt_cfg: dict, prefix: str = 'optim_wrapper.optimizer') -> None:
    """Refuse hyper-parameters that cannot be right, naming the key.

    lr, weight_decay >= 0; momentum and each of betas in [0, 1); alpha in
    [0, 1]; eps > 0.

    Example:
        >>> check_optimizer_values(dict(type='SGD', lr=-0.1))
        Traceback (most recent call last):
        ...
        mmcls_ms.utils.config.ConfigValueError: optim_wrapper.optimizer.lr=-0.1 must be >= 0.
    """
    for key, (valid, text) in VALUE_RULES.items():
        if key in opt_cfg and not valid(opt_cfg[key]):
            raise ConfigValueError(f'{prefix}.{key}={opt_cfg[key]!r} must be {text}.')
    betas = opt_cfg.get('betas')
    if betas is not None:
        if (not isinstance(betas, (list, tuple)) or len(betas) != 2
                or not all(_fraction(b) for b in betas)):
            raise ConfigValueError(f'{prefix}.betas={betas!r} must be two numbers in [0, 1).')


def _check_paramwise_values(paramwise_cfg: dict) -> None:
    for key in ('norm_decay_mult', 'bias_decay_mult'):
        value = paramwise_cfg.get(key)
        if value is not None and not _non_negative(value):
            raise ConfigValueError(f'optim_wrapper.paramwise_cfg.{key}={value!r} must be >= 0.')
    for name, mults in (paramwise_cfg.get('custom_keys') or {}).items():
        for key in ('lr_mult', 'decay_mult'):
            value = mults.get(key, 1.0)
            if not _non_negative(value):
                raise ConfigValueError(f"optim_wrapper.paramwise_cfg.custom_keys['{name}']."
                                       f'{key}={value!r} must be >= 0.')


def check_optim_wrapper_cfg(optim_wrapper_cfg: dict) -> None:
    """Refuse the ``optim_wrapper`` values that cannot be right, naming the key,
    before anything is built: the wrapper ``type``, ``accumulative_counts``, the
    optimizer's hyper-parameters and the ``paramwise_cfg`` multipliers.

    Example:
        >>> check_optim_wrapper_cfg(dict(optimizer=dict(type='SGD', lr=0.1),
        ...                              accumulative_counts=2.5))
        Traceback (most recent call last):
        ...
        mmcls_ms.utils.config.ConfigValueError: optim_wrapper.accumulative_counts=2.5 must be an int >= 1 (the iterations summed per update).
    """
    wrapper_type = optim_wrapper_cfg.get('type', 'OptimWrapper')
    if isinstance(wrapper_type, str) and OPTIM_WRAPPERS.get(wrapper_type) is None:
        OPTIM_WRAPPERS.import_from_location()
        raise ConfigValueError(
            f'optim_wrapper.type={wrapper_type!r} is not an optimizer wrapper of mmcls_ms; '
            f'use one of {sorted(OPTIM_WRAPPERS.module_dict)}.')
    if 'accumulative_counts' in optim_wrapper_cfg:
        check_accumulative_counts(optim_wrapper_cfg['accumulative_counts'])
    if isinstance(optim_wrapper_cfg.get('optimizer'), dict):
        check_optimizer_values(optim_wrapper_cfg['optimizer'])
    _check_paramwise_values(dict(optim_wrapper_cfg.get('paramwise_cfg') or {}))


def build_optimizer(model: nn.Cell, optim_wrapper_cfg: dict) -> nn.Cell:
    """Build the optimizer Cell named in ``optim_wrapper_cfg['optimizer']``."""
    if 'optimizer' not in optim_wrapper_cfg:
        raise KeyError('`optim_wrapper` has no `optimizer`: add e.g. '
                       "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)).")
    opt_cfg = dict(optim_wrapper_cfg['optimizer'])
    if 'lr' not in opt_cfg:
        raise KeyError(f"optim_wrapper.optimizer ({opt_cfg.get('type')}) needs an `lr`.")
    check_optimizer_values(opt_cfg)
    _check_paramwise_values(dict(optim_wrapper_cfg.get('paramwise_cfg') or {}))
    weight_decay = opt_cfg.get('weight_decay', 0.0)
    groups = param_groups(model, weight_decay, optim_wrapper_cfg.get('paramwise_cfg'))
    opt_cfg['params'] = groups
    opt_cfg.pop('weight_decay', None)
    return OPTIMIZERS.build(opt_cfg)
