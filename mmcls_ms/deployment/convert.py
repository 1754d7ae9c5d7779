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

from mmcls_ms.utils.cells import replace_cells
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


def make_export_friendly(model, input_shape):
    """Swap padded ``AvgPool2d``, ``AdaptiveAvgPool2d(1)`` and unevenly padded
    ``Conv2d`` in place for exporter-friendly equivalents; returns what was
    swapped (readable lines).

    Args:
        model: the network (any ``nn.Cell``).
        input_shape: the NCHW shape the exported graph will take; the
            divisor maps of ``count_include_pad=False`` pools depend on it.
    """
    cells = list(model.cells_and_names())
    pools = [name for name, cell in cells if name and _is_padded_avg_pool(cell)]
    sizes = _input_sizes(model, input_shape, pools) if pools else {}
    swapped = []

    def replacement(name, cell):
        if name in pools:
            if name not in sizes:  # not on the eval path (e.g. an aux branch)
                return None
            swapped.append(f'{name}: AvgPool2d -> PaddedAvgPool2d')
            return PaddedAvgPool2d.from_cell(cell, sizes[name])
        if _is_global_adaptive_pool(cell):
            swapped.append(f'{name}: AdaptiveAvgPool2d(1) -> GlobalAvgPool2d')
            return GlobalAvgPool2d()
        if has_uneven_padding(cell):
            swapped.append(f'{name}: Conv2d(padding={cell.padding}) -> PadThenConv2d')
            return PadThenConv2d(cell)
        return None

    replace_cells(model, replacement)
    return swapped
