"""SGD with momentum and weight decay over a whole parameter group as one CPU kernel.

Written with MindSpore's primitives, every decayed parameter is four nodes of
the training graph and four kernels per step: a ``Load`` of the parameter,
``Mul``, ``Add`` and ``ApplyMomentum``.  For InceptionV3's 284 parameters that
is over a thousand nodes, which MindSpore compiles and links into actors one
by one (without the decay, the training graph compiled in 7.4 s instead of
9.3 s) and launches one by one every step.  :func:`fused_sgd_op` makes one
Custom op per parameter group (``csrc/fused_sgd.cpp``) that reads the
gradients and updates the parameters and momentum buffers in place, with the
same arithmetic as the primitives it replaces.  :class:`mmcls_ms.engine.
optimizers.SGD` uses it on CPU (``fused=None``, as in PyTorch, picks it when
it is available).

Example:
    >>> op = fused_sgd_op(len(params))          # doctest: +SKIP
    >>> done = op(*params, *moments, *grads, lr, hyper)   # doctest: +SKIP
"""
import functools

import mindspore as ms
from mindspore import ops
from mindspore import dtype as mstype
from mindspore.ops import signature as sig

from .cpu_backend import load_kernels
from .kernel_library import KernelLibraryUnavailable, library_path


def fused_sgd_available(parameters=(), required: bool = False) -> str:
    """'' when the fused SGD kernel can step ``parameters`` here, else why not.
    It is part of the oneDNN engine's kernel library: unless ``required``, it is
    not used (nor built) where the process runs MindSpore's kernels.

    Example:
        >>> fused_sgd_available(net.trainable_params())   # doctest: +SKIP
        ''
    """
    if ms.get_context('device_target') != 'CPU':
        return f"it is a CPU kernel and the device is {ms.get_context('device_target')}"
    for param in parameters:
        if param.dtype != mstype.float32:
            return f'it steps float32 parameters and {param.name} is {param.dtype}'
    if not required:
        decision = load_kernels()
        if decision.conv_backend != 'onednn':
            return f"the process runs MindSpore's kernels ({decision.conv_reason})"
        return ''
    try:
        library_path()
    except KernelLibraryUnavailable as err:
        return str(err)
    return ''


def fused_sgd_op(count: int):
    """The Custom op that steps a group of ``count`` parameters:
    ``op(*params, *moments, *grads, lr, hyper)``, with ``hyper`` a float32 Tensor
    ``[momentum, weight_decay, nesterov]``; it returns a 1-element Tensor that a
    caller ties its result to (``ops.depend``).

    Example:
        >>> op = fused_sgd_op(3)    # doctest: +SKIP
    """
    return _fused_sgd_op(library_path(), count)


@functools.cache  # one op per group size
def _fused_sgd_op(library: str, count: int):
    # the op writes the parameters and buffers (as ApplyMomentum does), so graph
    # mode orders it after their readers
    signature = tuple(
        [sig.make_sig(f'param{i}', sig.sig_rw.RW_WRITE) for i in range(count)]
        + [sig.make_sig(f'moment{i}', sig.sig_rw.RW_WRITE) for i in range(count)]
        + [sig.make_sig(f'grad{i}') for i in range(count)]
        + [sig.make_sig('lr'), sig.make_sig('hyper')])
    op_class = type(f'FusedSGDStep{count}', (ops.Custom,), {'__mindspore_signature__': signature})
    op = op_class(f'{library}:fused_sgd_step', func_type='aot',
                  out_shape=lambda *shapes: (1,), out_dtype=lambda *dtypes: mstype.float32)
    op.add_prim_attr('side_effect_mem', True)
    return op
