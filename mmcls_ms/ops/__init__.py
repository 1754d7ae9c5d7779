"""Custom CPU operators and the oneDNN backend that uses them.

- ``cpu_backend``: which engine runs the convolutions and the oneDNN ISA cap,
  decided at ``import mmcls_ms`` and by ``env_cfg.conv_backend``;
- ``backend``: the one boundary the rest of mmcls_ms uses (apply the backend to a
  model, give MindSpore's cells back, refuse mixed precision);
- ``kernel_library``: builds and loads the C++ kernels (``csrc/``);
- ``conv2d``, ``pool2d``, ``batch_norm_relu``: the cells that run oneDNN
  convolution and pooling and the fused training BatchNorm + ReLU;
- ``fused_sgd``: SGD's update of a whole parameter group as one kernel.
"""
