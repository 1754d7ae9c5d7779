"""Weights: reading, writing, converting and fetching checkpoints.

A map of the package, in the order a file travels through it:

``download``     fetch a URL once into the cache (``$MMCLS_MS_HOME/checkpoints``),
                 verify its hash, mirrors and URL rewriting.
``pth_reader``   read PyTorch ``.pth`` files into numpy arrays without PyTorch,
                 through a restricted unpickler.
``converters``   rename torchvision / mmpretrain / MindCV keys to mmcls_ms keys.
``checkpoint``   mmcls_ms's own ``.ckpt`` / ``.safetensors`` files: atomic saves,
                 readers, ``load_checkpoint`` with a load report.
``pretrained``   the path ``get_model(..., pretrained=...)`` takes: download,
                 convert once into a cache, load.

Nothing here imports MindSpore at module import time.

Example:
    >>> from mmcls_ms.weights.checkpoint import load_checkpoint  # doctest: +SKIP
    >>> load_checkpoint(model, 'work_dirs/epoch_5.ckpt').missing_keys  # doctest: +SKIP
    []
"""
