"""Swap the cells that MindSpore's exporters cannot convert for equivalents.

Only cells with a known exact equivalent are swapped (see
:mod:`mmcls_ms.deployment.pooling`); the model's parameters are untouched, so
the exported graph computes what the model computes.

Example:
    >>> model = get_model('configs/inception_v3/inception-v3_8xb32_in1k.py')  # doctest: +SKIP
    >>> swapped = make_export_friendly(model, (1, 3, 299, 299))             # doctest: +SKIP
    >>> swapped[:1]                                                          # doctest: +SKIP
    ['backbone.Mixed_5b.branch_pool_downsample: AvgPool2d -> PaddedAvgPool2d']
"""
import numpy as np
import mindspore as ms
from mindspore import nn

from .conv import PadThenConv2d, has_uneven_padding
from .pooling import GlobalAvgPool2d, PaddedAvgPool2d


def _is_padded_avg_pool(cell):
    prim = getattr(cell, 'avg_pool', None)
    return isinstance(cell, nn.AvgPool2d) and prim is not None and \
        any(getattr(prim, 'pad_list', (0,))) and prim.name == 'AvgPool3D'


def _is_global_adaptive_pool(cell):
    size = getattr(cell, 'output_size', None)
    if not isinstance(cell, nn.AdaptiveAvgPool2d):
        return False
    prim = getattr(cell, 'adaptive_avgpool2d', None)
    size = tuple(prim.output_size) if prim is not None else size
    return size in ((1, 1), 1, (1,))


def _input_sizes(model, input_shape, names):
    """(H, W) seen by each named cell in one eval forward of ``input_shape``."""
    sizes = {}
    cells = dict(model.cells_and_names())
    handles = []
    for name in names:
        def hook(cell, args, name=name):
            sizes[name] = tuple(args[0].shape[-2:])
        handles.append(cells[name].register_forward_pre_hook(hook))
    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    was_training = model.training
    model.set_train(False)
    try:
        model(ms.Tensor(np.zeros(input_shape, np.float32)))
    finally:
        for handle in handles:
            handle.remove()
        model.set_train(was_training)
        ms.set_context(mode=mode)
    return sizes


def _replace(model, name, new_cell):
    parent_name, _, attr = name.rpartition('.')
    parent = dict(model.cells_and_names())[parent_name] if parent_name else model
    if isinstance(parent, (nn.SequentialCell, nn.CellList)):
        parent[int(attr)] = new_cell
    else:
        setattr(parent, attr, new_cell)


def make_export_friendly(model, input_shape):
    """Swap padded ``AvgPool2d``, ``AdaptiveAvgPool2d(1)`` and unevenly padded
    ``Conv2d`` in place for exporter-friendly equivalents; returns what was
    swapped (readable lines).

    Args:
        model: the network (any ``nn.Cell``).
        input_shape: the NCHW shape the exported graph will take; the
            divisor maps of ``count_include_pad=False`` pools depend on it.
    """
    original_names = {id(param): param.name for param in model.get_parameters()}
    cells = list(model.cells_and_names())
    pools = [name for name, cell in cells if name and _is_padded_avg_pool(cell)]
    sizes = _input_sizes(model, input_shape, pools) if pools else {}
    swapped = []
    for name, cell in cells:
        if name in pools:
            if name not in sizes:  # not on the eval path (e.g. an aux branch)
                continue
            _replace(model, name, PaddedAvgPool2d.from_cell(cell, sizes[name]))
            swapped.append(f'{name}: AvgPool2d -> PaddedAvgPool2d')
        elif name and _is_global_adaptive_pool(cell):
            _replace(model, name, GlobalAvgPool2d())
            swapped.append(f'{name}: AdaptiveAvgPool2d(1) -> GlobalAvgPool2d')
        elif name and has_uneven_padding(cell):
            padding = cell.padding
            _replace(model, name, PadThenConv2d(cell))
            swapped.append(f'{name}: Conv2d(padding={padding}) -> PadThenConv2d')
    # inserting a cell re-prefixes its parameters with the attribute name only;
    # give them back their full names (unique names are needed to compile)
    for param in model.get_parameters():
        param.name = original_names.get(id(param), param.name)
    return swapped
