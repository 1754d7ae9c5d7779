"""The oneDNN custom ops run float32 only: refuse mixed precision up front.

Mixed precision casts activations to float16, which the kernels refuse with a
bare "AOT kernel return value 1" in the middle of the first step.  Where
mmcls_ms turns mixed precision on (the runner's ``AmpOptimWrapper``,
``benchmark.py --amp``) it first calls :func:`check_float32_only`, which names
the op and the way out.  (A dtype check inside each op's ``construct`` would
do the same at graph compile time, but costs front-end time on every compile.)

Example:
    >>> check_float32_only(model, 'AmpOptimWrapper')   # doctest: +SKIP
"""
from .batch_norm_relu import BatchNormReLU
from .onednn_conv import OneDNNConv2d
from .onednn_pool import OneDNNPool2d

FLOAT32_ONLY = (OneDNNConv2d, OneDNNPool2d, BatchNormReLU)


def check_float32_only(model, what: str):
    """Raise ``TypeError`` if ``model`` holds a float32-only custom op, before
    ``what`` (e.g. ``'AmpOptimWrapper'``) makes it run in half precision.

    Example:
        >>> check_float32_only(nn.Dense(2, 2), '--amp')   # no custom op: returns
    """
    for name, cell in model.cells_and_names():
        if isinstance(cell, FLOAT32_ONLY):
            raise TypeError(f'{what}: {name} is a {type(cell).__name__} '
                            '(MMCLS_MS_CONV_BACKEND=onednn), which runs float32 only. Mixed '
                            "precision needs MindSpore's own kernels: unset "
                            'MMCLS_MS_CONV_BACKEND, or train in float32.')
