"""Normalisation layers from mmpretrain-style ``norm_cfg`` dicts.

``norm_cfg`` takes the momentum in the **PyTorch convention** (what mmpretrain
users write): ``running = (1 - momentum) * running + momentum * batch``.
MindSpore's ``nn.BatchNorm2d`` uses the opposite convention
(``moving = momentum * moving + (1 - momentum) * batch``).  This file is the
only place in mmcls_ms that converts between the two.  (MindSpore 2.10's
``nn.BatchNorm2d`` takes its own convention and stores ``1 - momentum`` for
the kernel, so ``bn.momentum`` reads back the PyTorch value.)

Example:
    >>> bn = build_norm_layer(dict(type='BN', momentum=0.1, eps=1e-3), 64)
    >>> torch_to_mindspore_momentum(0.1)   # what nn.BatchNorm2d was given
    0.9
"""
from mindspore import nn, ops
from mindspore.communication import GlobalComm, get_group_size

from .sync_bn import SyncBatchNorm2d

# PyTorch's BatchNorm default: short runs need it (MindCV's 0.0003 barely moves).
DEFAULT_TORCH_MOMENTUM = 0.1
_BN_TYPES = ('BN', 'BN2d', 'BatchNorm2d', 'SyncBN')


def torch_to_mindspore_momentum(momentum: float) -> float:
    """PyTorch-convention BN momentum -> MindSpore-convention momentum.

    Example:
        >>> torch_to_mindspore_momentum(0.1)
        0.9
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'norm_cfg momentum must be in [0, 1] (PyTorch convention, '
                         f'e.g. 0.1), got {momentum}')
    return 1.0 - momentum


def data_parallel_world_size() -> int:
    """Number of ranks that MindSpore's communication was initialised with (1 if none).

    Example:
        >>> data_parallel_world_size()
        1
    """
    return get_group_size() if GlobalComm.INITED else 1


def build_norm_layer(cfg: dict, num_features: int, default_eps: float = 1e-5) -> nn.Cell:
    """Build a batch norm from ``dict(type='BN', momentum=0.1, eps=...,
    requires_grad=True)``.

    ``type='SyncBN'`` gives a ``SyncBatchNorm2d`` (statistics over all ranks)
    when communication is initialised with more than one rank, and a plain
    ``nn.BatchNorm2d`` in a single process, where the two are the same.

    ``default_eps`` is used when ``cfg`` has no ``eps`` (1e-3 for Inception,
    1e-5 for VGG, as in torchvision).

    Example:
        >>> bn = build_norm_layer(dict(type='BN'), 32, default_eps=1e-3)
        >>> bn.gamma.shape
        (32,)
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"norm_cfg must be a dict with a 'type' key, e.g. dict(type='BN'), "
                        f'got {cfg!r}')
    cfg = dict(cfg)
    norm_type = cfg.pop('type')
    if norm_type not in _BN_TYPES:
        raise KeyError(f'norm_cfg type {norm_type!r} is not supported; use one of {_BN_TYPES}')
    momentum = cfg.pop('momentum', DEFAULT_TORCH_MOMENTUM)
    eps = cfg.pop('eps', default_eps)
    requires_grad = cfg.pop('requires_grad', True)
    if cfg:
        raise KeyError(f'Unknown norm_cfg keys {sorted(cfg)}; supported: type, momentum '
                       '(PyTorch convention), eps, requires_grad')
    ms_momentum = torch_to_mindspore_momentum(momentum)  # also checks the range
    if norm_type == 'SyncBN' and data_parallel_world_size() > 1:
        bn = SyncBatchNorm2d(num_features, eps=eps, momentum=momentum,
                             all_reduce=ops.AllReduce(ops.ReduceOp.SUM))
    else:
        bn = nn.BatchNorm2d(num_features, eps=eps, momentum=ms_momentum)
    if not requires_grad:
        bn.gamma.requires_grad = False
        bn.beta.requires_grad = False
    return bn
