"""The one boundary between the models and the oneDNN CPU backend.

The rest of mmcls_ms reaches the backend only through these functions and two
cell conventions, never by naming its classes:

- :func:`engine_summary` says in one line which engine runs and why.
- :func:`apply_backend` swaps a freshly built model's convolutions, pools and
  BatchNorm + ReLU pairs for the backend's cells, when the process runs the
  oneDNN engine on CPU (:func:`mmcls_ms.ops.cpu_backend.current_decision`).
  ``MODELS.build`` calls it on the model it returns (so the Runner,
  ``get_model`` and a plain ``MODELS.build`` all get it), and the Runner on a
  model handed to it ready-built.
- :func:`use_stock_cells` gives back MindSpore's own cells, holding the same
  Parameters (export: MindIR and ONNX runtimes have no custom ops).
- :func:`fuse_activations` lets each backend convolution apply the ReLU after
  it (inference only; nothing to do for MindSpore's cells).
- :func:`check_float32_only` refuses mixed precision on a model that holds
  float32-only backend cells.
- :func:`split_fused_norms` gives back the BatchNorm and ReLU of each fused
  pair, so that BN folding sees MindSpore's conv -> BN -> ReLU layout.
- a backend cell keeps the MindSpore cell it stands in for as ``stock_cell``
  (:func:`mmcls_ms.utils.cells.stock_type` answers "is this a convolution / a
  norm layer / a pool"), and says ``float32_only``.

Example:
    >>> from mmcls_ms.ops.backend import apply_backend
    >>> apply_backend(model)   # doctest: +SKIP
    94
"""
import mindspore as ms
from mindspore import nn

from mmcls_ms.utils.cells import forget_compiled_graphs, replace_cells
from .batch_norm_relu import unfuse_bn_relu, use_fused_bn_relu
from .conv2d import fuse_relu_into_onednn_convs, use_onednn_convs
from .cpu_backend import CONV_BACKEND_KEY, current_decision, load_kernels
from .pool2d import use_onednn_pools


def backend_in_use() -> str:
    """'onednn' when models built now get the oneDNN cells, else 'mindspore'.  On
    CPU with the oneDNN engine chosen, the first call builds (or loads from the
    cache) the kernel library (:func:`mmcls_ms.ops.cpu_backend.load_kernels`).

    Example:
        >>> backend_in_use() in ('onednn', 'mindspore')
        True
    """
    if current_decision().conv_backend != 'onednn' or \
            ms.get_context('device_target') != 'CPU':
        return 'mindspore'
    return load_kernels().conv_backend


def engine_summary() -> str:
    """One line: which engine runs the models' convolutions on this device, and
    why (the oneDNN ISA cap too); builds the kernel library where they need it.

    Example:
        >>> 'convolutions: ' in engine_summary()
        True
    """
    backend_in_use()
    return current_decision().summary(ms.get_context('device_target'))


def apply_backend(model: nn.Cell) -> int:
    """Swap, in place, ``model``'s convolutions, max/average pools and BatchNorm +
    ReLU pairs for the oneDNN backend's cells when :func:`backend_in_use` says
    'onednn'; otherwise leave it alone.  Parameters and their names stay the same
    objects.  Idempotent.  Returns how many convolutions were swapped.

    A convolution the kernels cannot run (groups, 'same' padding) stays
    MindSpore's, unless the config asked for 'onednn' explicitly: then that is an
    error, as on an AVX-512 CPU such a convolution would run oneDNN's naive kernel.

    Example:
        >>> apply_backend(MODELS.build(dict(type='VGG', depth=11)))   # doctest: +SKIP
        8
    """
    if backend_in_use() != 'onednn' or not isinstance(model, nn.Cell):
        return 0
    use_onednn_pools(model)
    use_fused_bn_relu(model)
    return use_onednn_convs(model, strict=current_decision().conv_requested == 'onednn')


def use_stock_cells(model: nn.Cell) -> int:
    """Undo :func:`apply_backend` in place: every backend cell gives back the
    MindSpore cell it stands in for, holding the same Parameters (a convolution
    with a fused ReLU comes back followed by an ``nn.ReLU``).  Returns how many
    cells changed.

    Example:
        >>> use_stock_cells(model)   # doctest: +SKIP
        107
    """
    restored = unfuse_bn_relu(model)

    def stock(name, cell):
        original = getattr(cell, 'stock_cell', None)
        if original is None:
            return None
        if hasattr(cell, 'stock_equivalent'):
            return cell.stock_equivalent()
        return original
    restored += replace_cells(model, stock)
    if restored:
        forget_compiled_graphs(model)
    return restored


def split_fused_norms(model: nn.Cell) -> int:
    """Give each fused BatchNorm + ReLU back as MindSpore's ``nn.BatchNorm2d`` and
    ``nn.ReLU`` (e.g. before folding BN into the convolutions); returns how many.

    Example:
        >>> split_fused_norms(model)   # doctest: +SKIP
        94
    """
    return unfuse_bn_relu(model)


def fuse_activations(model: nn.Cell) -> int:
    """Inference only: let each backend convolution that a ReLU follows apply it as
    it writes its output (after BN folding); returns how many.

    Example:
        >>> fuse_conv_bn(model); fuse_activations(model)   # doctest: +SKIP
        94
    """
    return fuse_relu_into_onednn_convs(model)


def check_float32_only(model: nn.Cell, what: str) -> None:
    """Raise ``TypeError`` if ``model`` holds a float32-only backend cell, before
    ``what`` (e.g. ``'AmpOptimWrapper'``) makes it run in half precision.

    The backend's kernels take float32 only; mixed precision would cast their
    inputs and fail with a bare "AOT kernel return value 1" mid-step.

    Example:
        >>> check_float32_only(nn.Dense(2, 2), '--amp')   # no backend cell: returns
    """
    for name, cell in model.cells_and_names():
        if getattr(cell, 'float32_only', False):
            raise TypeError(f'{what}: {name} is a {type(cell).__name__} (the oneDNN CPU '
                            'backend), which runs float32 only. Mixed precision needs '
                            f"MindSpore's own kernels: set {CONV_BACKEND_KEY}='mindspore' (or "
                            'MMCLS_MS_CONV_BACKEND=mindspore), or train in float32.')
