"""Count FLOPs (multiply-adds) and parameters, by mmcv's counting rules.

MindSpore has no FLOP counter to rely on, so this runs one PyNative forward
with forward hooks on the layers and counts analytically from their input and
output shapes, with the rules of mmcv's ``get_model_complexity_info`` (which
produced mmpretrain's published numbers: InceptionV3 at 299 gives exactly its
5,745,177,632; VGG16 at 224 gives 15.50 G):

* ``Conv2d``: ``N * C_out * H_out * W_out * (C_in / groups) * k_h * k_w``
  multiply-adds, plus one per output element for the bias;
* ``Dense``:  ``N * in_features * out_features`` (bias not counted);
* ``BatchNorm2d``: two per element (scale and shift);
* ``ReLU``: one per output element;
* pools (max, average, adaptive, global average): one per input element.

``ComplexityReport.macs`` holds the conv and dense multiply-adds alone.

Example:
    >>> from mmcls_ms.models import VGG
    >>> report = count_complexity(VGG(depth=11, num_classes=-1), (1, 3, 32, 32))
    >>> report.total_flops > 0
    True
"""
from dataclasses import dataclass, field

import numpy as np
import mindspore as ms
from mindspore import nn

from mmcls_ms.utils.cells import stock_type


@dataclass
class LayerCount:
    name: str
    kind: str
    flops: int
    macs: int
    params: int
    output_shape: tuple


@dataclass
class ComplexityReport:
    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0

    @property
    def total_flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def macs(self) -> int:
        """Conv and dense multiply-adds only."""
        return sum(layer.macs for layer in self.layers)

    def by_module(self, depth: int = 2) -> dict:
        """``{name prefix of ``depth`` parts: (flops, params)}`` in layer order."""
        groups = {}
        for layer in self.layers:
            key = '.'.join(layer.name.split('.')[:depth])
            flops, params = groups.get(key, (0, 0))
            groups[key] = (flops + layer.flops, params + layer.params)
        return groups


def _numel(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _global_pool_types():
    from ..necks.gap import GlobalAveragePooling  # local: necks import this package
    return (GlobalAveragePooling,)


POOL_TYPES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
COUNTED_TYPES = (nn.Conv2d, nn.Dense, nn.BatchNorm2d, nn.ReLU) + POOL_TYPES


def _layer_counts(cell, inputs, output):
    """(flops, multiply-adds of conv/dense) of one call."""
    out_numel = _numel(tuple(output.shape)) if hasattr(output, 'shape') else 0
    kind = stock_type(cell)  # a backend cell counts as the cell it stands in for
    if issubclass(kind, nn.Conv2d):
        kernel_h, kernel_w = cell.kernel_size
        macs = out_numel * (cell.in_channels // getattr(cell, 'group', 1)) * kernel_h * kernel_w
        return macs + (out_numel if cell.has_bias else 0), macs
    if issubclass(kind, nn.Dense):
        macs = out_numel * cell.in_channels
        return macs, macs
    if issubclass(kind, nn.BatchNorm2d):  # (a fused BN + ReLU's ReLU child counts itself)
        return 2 * out_numel, 0
    if issubclass(kind, nn.ReLU):
        return out_numel, 0
    # pools: every input element is read once
    args = inputs[0] if isinstance(inputs[0], tuple) else inputs
    return sum(_numel(tuple(x.shape)) for x in args if hasattr(x, 'shape')), 0


def count_complexity(model, input_shape, forward=None) -> ComplexityReport:
    """Run ``forward(model, x)`` once (default ``model(x)``) on zeros of
    ``input_shape`` in PyNative mode (the model is put in eval mode) and count.

    Args:
        model: a ``nn.Cell``.
        input_shape: e.g. ``(1, 3, 224, 224)``.
        forward: optional callable ``(model, x) -> output``, e.g.
            ``lambda m, x: m.extract_feat(x)``.
    """
    if ms.get_context('mode') != ms.PYNATIVE_MODE:
        raise RuntimeError('count_complexity needs PyNative mode (forward hooks); call '
                           'mindspore.set_context(mode=mindspore.PYNATIVE_MODE) first')
    report = ComplexityReport()
    handles = []
    for name, cell in model.cells_and_names():
        if not issubclass(stock_type(cell), COUNTED_TYPES + _global_pool_types()):
            continue
        params = sum(_numel(p.shape) for p in cell.get_parameters() if 'moving' not in p.name)

        def hook(cell, inputs, output, name=name, params=params):
            flops, macs = _layer_counts(cell, inputs, output)
            shape = tuple(output.shape) if hasattr(output, 'shape') else ()
            report.layers.append(LayerCount(name, stock_type(cell).__name__, flops, macs,
                                            params, shape))

        handles.append(cell.register_forward_hook(hook))
    was_training = model.training
    model.set_train(False)
    try:
        x = ms.Tensor(np.zeros(input_shape, np.float32))
        if forward is None:
            model(x)
        else:
            forward(model, x)
    finally:
        for handle in handles:
            handle.remove()
        model.set_train(was_training)
    empty = next((layer for layer in report.layers if 0 in layer.output_shape), None)
    if empty is not None:  # the counts of an empty feature map would be meaningless zeros
        raise ValueError(f'The input {tuple(input_shape)} is too small for this model: '
                         f'{empty.name} gives an empty output {empty.output_shape}. Use a '
                         'larger input size (get_flops.py --shape).')
    all_params = list(model.get_parameters())
    report.total_params = sum(_numel(p.shape) for p in all_params if 'moving' not in p.name)
    report.trainable_params = sum(_numel(p.shape) for p in all_params if p.requires_grad)
    return report
