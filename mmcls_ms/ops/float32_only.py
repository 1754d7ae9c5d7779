"""The oneDNN custom ops run float32 only: a clear error instead of a kernel's status code.

Mixed precision casts activations to float16, which the kernels refuse with a bare
"return value 1"; this check names the op and the way out, at graph compile time
in graph mode (the dtype is a constant there, so fp32 graphs get no extra node).

Example:
    >>> check_float32(ms.Tensor(np.ones(2, np.float32)), 'OneDNNConv2d')   # doctest: +SKIP
"""
from mindspore import dtype as mstype


def check_float32(x, op_name):
    """Raise ``TypeError`` unless ``x`` is float32 (call it inside ``construct``).

    Example:
        >>> check_float32(ms.Tensor(np.ones(2, np.float16)), 'OneDNNPool2d')  # doctest: +SKIP
        TypeError: OneDNNPool2d (MMCLS_MS_CONV_BACKEND=onednn) runs float32 only, ...
    """
    if x.dtype != mstype.float32:
        raise TypeError(f'{op_name} (MMCLS_MS_CONV_BACKEND=onednn) runs float32 only, got '
                        f'{x.dtype}. Mixed precision (--amp, AmpOptimWrapper) needs '
                        "MindSpore's own kernels: unset MMCLS_MS_CONV_BACKEND.")
