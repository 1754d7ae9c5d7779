"""Deployment: MindIR / ONNX export with verification, the export-time
formulations (exact, exporter-friendly equivalents of cells that MindSpore
2.10's exporters cannot convert) and the inference fast path."""
from .conv import PadThenConv2d
from .convert import make_export_friendly
from .exporter import ExportResult, export_model, run_exported
from .fast_inference import AffinePreprocessor, optimize_for_inference
from .fuse import fuse_conv_bn
from .pooling import GlobalAvgPool2d, PaddedAvgPool2d, valid_count_map

__all__ = [
    'export_model', 'run_exported', 'ExportResult', 'make_export_friendly', 'fuse_conv_bn',
    'optimize_for_inference', 'AffinePreprocessor', 'PadThenConv2d', 'PaddedAvgPool2d',
    'GlobalAvgPool2d', 'valid_count_map'
]
