"""Export a classifier to MindIR or ONNX and check the file against the model.

The exported graph takes the raw batch (uint8 NCHW, the data preprocessor
runs inside) and returns the logits, exactly what ``model(inputs)`` returns.

Verification runs the same random batch through the source model and the
exported file: MindIR with ``mindspore.load`` + ``nn.GraphCell``, ONNX with
onnxruntime (skipped, and said so, when onnxruntime is not installed).  The
check is ``max |exported - source| <= atol * max(1, max |source|)``: relative
to the logits' size, because randomly initialised networks can produce
logits of 1e6 and more, where float32 rounding alone exceeds an absolute
1e-4.

Example:
    >>> result = export_model(model, 'vgg11bn.onnx', 'onnx', (1, 3, 32, 32))  # doctest: +SKIP
    >>> result.verified, result.max_abs_diff                                  # doctest: +SKIP
    (True, 2.1e-06)
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import mindspore as ms
import mindspore.onnx
from mindspore import nn

from mmcls_ms.ops.backend import use_stock_cells

from .convert import make_export_friendly
from .fast_inference import optimize_for_inference

FORMATS = {'mindir': ('MINDIR', '.mindir'), 'onnx': ('ONNX', '.onnx')}
DEFAULT_ATOL = {'mindir': 1e-5, 'onnx': 1e-4}


@dataclass
class ExportResult:
    """What was written and what was checked."""
    path: str
    file_format: str
    input_shape: tuple
    input_dtype: str
    swapped: List[str] = field(default_factory=list)
    verified_with: Optional[str] = None  # 'mindspore.load + nn.GraphCell', 'onnxruntime', None
    skipped_reason: Optional[str] = None
    max_abs_diff: Optional[float] = None
    max_abs_logit: Optional[float] = None
    swap_max_abs_diff: Optional[float] = None
    top1_agree: Optional[bool] = None
    atol: Optional[float] = None
    verified: Optional[bool] = None  # None: not checked

    @property
    def tolerance(self) -> float:
        return self.atol * max(1.0, self.max_abs_logit or 0.0)


def _logits(out):
    out = out[-1] if isinstance(out, (tuple, list)) else out
    return out.asnumpy() if hasattr(out, 'asnumpy') else np.asarray(out)


def input_size_from_config(cfg):
    """(H, W) of the test pipeline's crop (mmpretrain keys), else (224, 224).

    Example:
        >>> from mmengine.config import Config
        >>> input_size_from_config(Config(dict(test_pipeline=[
        ...     dict(type='CenterCrop', crop_size=299)])))
        (299, 299)
    """
    for key in ('test_pipeline', 'val_pipeline', 'train_pipeline'):
        for step in cfg.get(key) or []:
            size = step.get('crop_size') if step.get('type') == 'CenterCrop' else None
            if size is None and step.get('type') in ('RandomResizedCrop', 'Resize'):
                size = step.get('scale')
            if size is not None:
                return (size, size) if isinstance(size, int) else (size[1], size[0])
    return 224, 224


def sample_input(shape, dtype='uint8', seed=0) -> np.ndarray:
    """A reproducible random batch: uint8 images or float32 N(0, 1)."""
    rng = np.random.default_rng(seed)
    if dtype == 'uint8':
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if dtype == 'float32':
        return rng.standard_normal(shape).astype(np.float32)
    raise ValueError(f"input dtype must be 'uint8' or 'float32', got {dtype!r}")


def output_path(out, file_format):
    """``out`` with the format's suffix (MindSpore appends one otherwise)."""
    suffix = FORMATS[file_format][1]
    return out if out.endswith(suffix) else out + suffix


def run_exported(path, file_format, batch: np.ndarray) -> np.ndarray:
    """Logits of an exported file for ``batch`` (MindIR or ONNX)."""
    if file_format == 'mindir':
        graph = nn.GraphCell(ms.load(path))
        return _logits(graph(ms.Tensor(batch)))
    import onnxruntime as ort  # an optional extra, only to check an ONNX file
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: batch})[0])


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401  (an optional extra)
    except ImportError:
        return False
    return True


def export_model(model, out, file_format='mindir', input_shape=(1, 3, 224, 224),
                 input_dtype='uint8', verify=True, atol=None, fast=False) -> ExportResult:
    """Export ``model`` (eval mode) to ``out`` and verify the file.

    For ONNX the cells MindSpore cannot convert are first swapped, in place,
    for exact equivalents (:func:`make_export_friendly`); the swap itself is
    checked against the untouched model.  ``fast=True`` exports the inference
    fast path (:func:`optimize_for_inference`), also checked against the
    untouched model.  A model with the oneDNN CPU backend's cells first gets
    MindSpore's own cells back, in place (same Parameters): runtimes that load
    MindIR or ONNX files have no custom ops.
    """
    if file_format not in FORMATS:
        raise ValueError(f'--format must be one of {sorted(FORMATS)}, got {file_format!r}')
    if len(input_shape) != 4:
        raise ValueError(f'input shape must be N C H W, got {tuple(input_shape)}')
    # MindIR and ONNX runtimes have no custom ops: export (and verify) MindSpore's cells
    use_stock_cells(model)
    path = output_path(out, file_format)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    result = ExportResult(path=path, file_format=file_format, input_shape=tuple(input_shape),
                          input_dtype=input_dtype,
                          atol=DEFAULT_ATOL[file_format] if atol is None else atol)
    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE)  # reference run op by op: independent of the graph
    try:
        model.set_train(False)
        batch = sample_input(tuple(input_shape), input_dtype)
        tensor = ms.Tensor(batch)
        reference = _logits(model(tensor))
        if fast:
            result.swapped += optimize_for_inference(model)
        if file_format == 'onnx':
            result.swapped += make_export_friendly(model, tuple(input_shape))
        if result.swapped:
            result.swap_max_abs_diff = float(np.abs(_logits(model(tensor)) -
                                                    reference).max())
    finally:
        ms.set_context(mode=mode)
    if file_format == 'mindir':
        ms.export(model, tensor, file_name=path[:-len('.mindir')], file_format='MINDIR')
    else:
        mindspore.onnx.export(model, tensor, file_name=path, input_names=['inputs'],
                              output_names=['logits'])
    if not osp.isfile(path):
        raise RuntimeError(f'MindSpore reported no error but wrote no file at {path}')
    if not verify:
        result.skipped_reason = 'verification turned off (--no-verify)'
        return result
    if file_format == 'onnx' and not onnxruntime_available():
        result.skipped_reason = ('onnxruntime is not installed: pip install onnxruntime '
                                 "'numpy<2' to verify the ONNX file")
        return result
    exported = run_exported(path, file_format, batch)
    result.verified_with = ('mindspore.load + nn.GraphCell' if file_format == 'mindir'
                            else 'onnxruntime')
    if exported.shape != reference.shape:
        result.verified = False
        result.skipped_reason = (f'output shape {exported.shape} differs from the model\'s '
                                 f'{reference.shape}')
        return result
    result.max_abs_diff = float(np.abs(exported - reference).max())
    result.max_abs_logit = float(np.abs(reference).max())
    result.top1_agree = bool((exported.argmax(-1) == reference.argmax(-1)).all())
    result.verified = result.max_abs_diff <= result.tolerance
    return result
