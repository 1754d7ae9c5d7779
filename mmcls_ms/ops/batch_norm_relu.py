"""Training-mode BatchNorm + ReLU as one custom op (CPU), for the onednn backend.

With its convolutions on oneDNN (:mod:`mmcls_ms.ops.conv2d`), the rest of
an InceptionV3 training step is mostly MindSpore's BatchNorm, oneDNN's
``ncsp_bnorm`` kernel on NCHW at 6 GB/s or less, and the separate ReLU and
ReluGrad passes after it (12.7% of the step together).  ``BatchNormReLU``
runs the pair as one op, forward and backward (``csrc/batch_norm_relu.cpp``):
two passes over the activation each way, with the ReLU mask recomputed from
the BN input instead of stored.  The running statistics are updated in place,
as MindSpore's BatchNorm does; in eval mode MindSpore's inference BatchNorm and
a ReLU run as before.

The oneDNN backend applies it together with the oneDNN convolutions
(:func:`mmcls_ms.ops.backend.apply_backend`).

Example:
    >>> from mmcls_ms.ops.batch_norm_relu import use_fused_bn_relu
    >>> n = use_fused_bn_relu(model)    # doctest: +SKIP
"""
import functools

import numpy as np
from mindspore import Tensor, nn, ops
from mindspore import dtype as mstype
from mindspore.ops import signature as sig

from mmcls_ms.utils.cells import forget_compiled_graphs, replace_cells
from .kernel_library import library_path

RELU_NAMES = ('relu', 'activate')  # where mmcls_ms's conv blocks keep their ReLU


def relu_attribute(block):
    """The attribute of ``block`` holding its ``nn.ReLU`` (``'relu'`` or
    ``'activate'``), or None.

    Example:
        >>> relu_attribute(nn.ReLU())   # a ReLU holds no ReLU
    """
    return next((name for name in RELU_NAMES
                 if isinstance(getattr(block, name, None), nn.ReLU)), None)


class _BatchNormReLUForward(ops.Custom):
    """The forward Custom op, declaring that it writes the running statistics (as
    MindSpore's BatchNorm primitive does), so graph mode orders it with their other
    readers and writers."""
    __mindspore_signature__ = (
        sig.make_sig('x'), sig.make_sig('gamma'), sig.make_sig('beta'),
        sig.make_sig('moving_mean', sig.sig_rw.RW_WRITE),
        sig.make_sig('moving_variance', sig.sig_rw.RW_WRITE),
        sig.make_sig('settings'))


@functools.cache  # one op per process: every batch norm shares it
def _bn_relu_op(library: str):
    backward = ops.Custom(f'{library}:batch_norm_relu_backward', func_type='aot',
                          out_shape=lambda dy, x, g, b, m, s, st: (x, g, g),
                          out_dtype=lambda dy, x, g, b, m, s, st: (dy, dy, dy))

    def bprop(x, gamma, beta, moving_mean, moving_variance, settings, out, dout):
        _, mean, invstd = out
        dx, dgamma, dbeta = backward(dout[0], x, gamma, beta, mean, invstd, settings)
        return (dx, dgamma, dbeta, ops.zeros_like(moving_mean),
                ops.zeros_like(moving_variance), ops.zeros_like(settings))

    forward = _BatchNormReLUForward(
        f'{library}:batch_norm_relu_forward', func_type='aot',
        out_shape=lambda x, g, b, mm, mv, st: (x, g, g),
        out_dtype=lambda x, g, b, mm, mv, st: (x, x, x), bprop=bprop)
    forward.add_prim_attr('side_effect_mem', True)
    return forward


def supports(bn) -> str:
    """'' when ``BatchNormReLU`` can take over the ``nn.BatchNorm2d`` ``bn``, else why not.

    Example:
        >>> supports(nn.BatchNorm2d(8))
        ''
    """
    if type(bn) is not nn.BatchNorm2d:
        return f'{type(bn).__name__} is not a plain nn.BatchNorm2d'
    if bn.use_batch_statistics is not None:
        return f'use_batch_statistics={bn.use_batch_statistics}'
    if bn.format != 'NCHW':
        return f'data_format {bn.format}'
    if bn.gamma.dtype != mstype.float32:
        return f'dtype {bn.gamma.dtype}'
    return ''


class BatchNormReLU(nn.Cell):
    """``relu(bn(x))`` (or ``bn(x)`` with ``relu_name=None``): in training one fused
    op with batch statistics; in eval MindSpore's inference BatchNorm and a ReLU.

    Holds ``bn``'s Parameters as its own ``gamma``/``beta``/``moving_mean``/
    ``moving_variance``, so their paths (and checkpoint keys) stay those of
    ``bn``.  ``relu_name`` records the attribute the replaced ReLU lived in, for
    :func:`unfuse_bn_relu`.

    Example:
        >>> fused = BatchNormReLU(nn.BatchNorm2d(32), relu_name='relu')   # doctest: +SKIP
    """

    def __init__(self, bn, relu_name=None):
        super().__init__()
        reason = supports(bn)
        if reason:
            raise ValueError(f'BatchNormReLU cannot replace this BatchNorm: {reason}')
        # nn.BatchNorm2d's order: checkpoints and optimizer states list them alike
        self.moving_mean, self.moving_variance = bn.moving_mean, bn.moving_variance
        self.gamma, self.beta = bn.gamma, bn.beta
        self.eps, self.momentum = bn.eps, bn.momentum
        # the cell it stands in for, kept for unfuse_bn_relu outside the cell tree: as
        # a child its Parameters would get a second path
        object.__setattr__(self, 'stock_cell', bn)
        self.relu_name = relu_name
        self.with_relu = relu_name is not None
        self.relu = nn.ReLU() if self.with_relu else nn.Identity()
        self.bn_infer = ops.BatchNorm(is_training=False, epsilon=bn.eps)  # nn.BatchNorm2d's
        # read by the kernel: epsilon, the primitive's momentum (weight of the batch
        # statistics), and whether to clip
        self.settings = Tensor(np.array([bn.eps, bn.momentum, float(self.with_relu)],
                                        np.float32))
        self.op = _bn_relu_op(library_path())

    float32_only = True  # the training kernel takes float32 tensors only

    def construct(self, x):
        if self.training:
            return self.op(x, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                           self.settings)[0]
        return self.relu(self.bn_infer(x, self.gamma, self.beta, self.moving_mean,
                                       self.moving_variance)[0])

    def extend_repr(self):
        return (f'num_features={self.gamma.shape[0]}, eps={self.eps}, momentum={self.momentum}, '
                f'relu={self.with_relu}, backend=fused training kernel')


def use_fused_bn_relu(net) -> int:
    """In every block with a ``bn`` (plain ``nn.BatchNorm2d``) followed by its ReLU
    in ``relu`` or ``activate`` (mmcls_ms's ``conv``/``bn``/ReLU blocks), make
    ``bn`` a ``BatchNormReLU`` and the ReLU an ``nn.Identity``.  Parameters and
    their names stay the same.  Returns how many.

    Example:
        >>> use_fused_bn_relu(model)   # doctest: +SKIP
        94
    """
    fused = 0
    for _, cell in list(net.cells_and_names()):
        bn = getattr(cell, 'bn', None)
        relu_name = relu_attribute(cell)
        if relu_name is None or bn is None or supports(bn):
            continue
        replace_cells(cell, lambda name, child, bn=bn, relu_name=relu_name:
                      BatchNormReLU(bn, relu_name) if child is bn else
                      nn.Identity() if name == relu_name else None)
        fused += 1
    if fused:
        forget_compiled_graphs(net)
    return fused


def unfuse_bn_relu(net) -> int:
    """Undo :func:`use_fused_bn_relu`: each ``BatchNormReLU`` gives back its
    ``nn.BatchNorm2d`` and its ReLU (e.g. before folding BN into convolutions).

    Example:
        >>> unfuse_bn_relu(model)   # doctest: +SKIP
        94
    """
    restored = 0
    for _, cell in list(net.cells_and_names()):
        fused = getattr(cell, 'bn', None)
        if not isinstance(fused, BatchNormReLU):
            continue
        replace_cells(cell, lambda name, child, fused=fused:
                      fused.stock_cell if child is fused else
                      nn.ReLU() if name == fused.relu_name else None)
        restored += 1
    if restored:
        forget_compiled_graphs(net)
    return restored
