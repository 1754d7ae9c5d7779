"""mmcls_ms: OpenMMLab-style image classification on MindSpore."""
# First, before anything imports MindSpore: choose a fast oneDNN ISA cap.
from .utils.cpu_backend import ONEDNN_DECISION  # noqa: F401
from .version import __version__

__all__ = ['__version__', 'ONEDNN_DECISION']
