"""Custom operators.

``onednn_conv``: convolutions through oneDNN's blocked-layout kernels (CPU),
turned on with ``MMCLS_MS_CONV_BACKEND=onednn``.
"""
