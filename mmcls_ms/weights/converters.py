"""Key mappings from torchvision, mmpretrain and MindCV weights to mmcls_ms.

mmcls_ms parameter names follow mmpretrain's attributes with MindSpore's BN
names (docs/design.md): ``backbone.Mixed_7c.branch3x3dbl_3b.bn.gamma``,
``backbone.features.14.conv.bias``, ``backbone.classifier.6.weight``.
Each mapping below lists, for every mmcls_ms key, where each source layout
keeps that tensor.  Values are copied bit for bit; only names change, plus:

* ``num_batches_tracked`` and training state (optimizer moments, step
  counters) are dropped;
* MindCV's VGG convolutions have no bias, so ``conv.bias`` becomes zeros;
* MindCV's InceptionV3 averages its branch pools without counting padding, so
  the converted meta carries ``model_overrides =
  {'backbone': {'pool_count_include_pad': False}}``, which the model zoo merges
  into the config when it builds the model.

Example:
    >>> from mmcls_ms.weights.converters import convert_checkpoint
    >>> report = convert_checkpoint('vgg16-397923af.pth', 'vgg16.ckpt')  # doctest: +SKIP
    >>> report.src_format, report.model, len(report.missing)             # doctest: +SKIP
    ('torchvision', 'vgg16', 0)
"""
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmcls_ms.utils.progress import track
from mmcls_ms.version import __version__
from mmcls_ms.weights.checkpoint import read_checkpoint, save_state_dict, sniff_format
from mmcls_ms.weights.pth_reader import load_pth_state_dict

SRC_FORMATS = ('torchvision', 'mmpretrain', 'mindcv', 'mmcls_ms')
MODELS = ('inception_v3', 'vgg11', 'vgg13', 'vgg16', 'vgg19',
          'vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn')

# The mmcls_ms config that builds each model.
CONFIGS = {'inception_v3': 'configs/inception_v3/inception-v3_8xb32_in1k.py'}
CONFIGS.update({f'vgg{d}': f'configs/vgg/vgg{d}_8xb32_in1k.py' for d in (11, 13, 16, 19)})
CONFIGS.update({f'vgg{d}_bn': f'configs/vgg/vgg{d}bn_8xb32_in1k.py' for d in (11, 13, 16, 19)})

# Config changes a converted checkpoint needs to reproduce its source exactly.
MODEL_OVERRIDES = {
    ('mindcv', 'inception_v3'): {'backbone': {'pool_count_include_pad': False}},
}

TORCH_BN = ('weight', 'bias', 'running_mean', 'running_var')
MS_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')

# --------------------------------------------------------------------------- #
# InceptionV3: torchvision/mmpretrain block name -> MindCV block name
# --------------------------------------------------------------------------- #
_INCEPTION_A = (('branch1x1', 'branch0'),
                ('branch5x5_1', 'branch1.0'), ('branch5x5_2', 'branch1.1'),
                ('branch3x3dbl_1', 'branch2.0'), ('branch3x3dbl_2', 'branch2.1'),
                ('branch3x3dbl_3', 'branch2.2'),
                ('branch_pool', 'branch_pool.1'))
_INCEPTION_B = (('branch3x3', 'branch0'),
                ('branch3x3dbl_1', 'branch1.0'), ('branch3x3dbl_2', 'branch1.1'),
                ('branch3x3dbl_3', 'branch1.2'))
_INCEPTION_C = (('branch1x1', 'branch0'),
                ('branch7x7_1', 'branch1.0'), ('branch7x7_2', 'branch1.1'),
                ('branch7x7_3', 'branch1.2'),
                ('branch7x7dbl_1', 'branch2.0'), ('branch7x7dbl_2', 'branch2.1'),
                ('branch7x7dbl_3', 'branch2.2'), ('branch7x7dbl_4', 'branch2.3'),
                ('branch7x7dbl_5', 'branch2.4'),
                ('branch_pool', 'branch_pool.1'))
_INCEPTION_D = (('branch3x3_1', 'branch0.0'), ('branch3x3_2', 'branch0.1'),
                ('branch7x7x3_1', 'branch1.0'), ('branch7x7x3_2', 'branch1.1'),
                ('branch7x7x3_3', 'branch1.2'), ('branch7x7x3_4', 'branch1.3'))
_INCEPTION_E = (('branch1x1', 'branch0'),
                ('branch3x3_1', 'branch1'), ('branch3x3_2a', 'branch1a'),
                ('branch3x3_2b', 'branch1b'),
                ('branch3x3dbl_1', 'branch2.0'), ('branch3x3dbl_2', 'branch2.1'),
                ('branch3x3dbl_3a', 'branch2a'), ('branch3x3dbl_3b', 'branch2b'),
                ('branch_pool', 'branch_pool.1'))
_INCEPTION_AUX = (('conv0', 'conv0'), ('conv1', 'conv1'))

# (torchvision name, MindCV name, branches or None for a single conv unit)
INCEPTION_V3_LAYOUT = (
    ('Conv2d_1a_3x3', 'conv1a', None),
    ('Conv2d_2a_3x3', 'conv2a', None),
    ('Conv2d_2b_3x3', 'conv2b', None),
    ('Conv2d_3b_1x1', 'conv3b', None),
    ('Conv2d_4a_3x3', 'conv4a', None),
    ('Mixed_5b', 'inception5b', _INCEPTION_A),
    ('Mixed_5c', 'inception5c', _INCEPTION_A),
    ('Mixed_5d', 'inception5d', _INCEPTION_A),
    ('Mixed_6a', 'inception6a', _INCEPTION_B),
    ('Mixed_6b', 'inception6b', _INCEPTION_C),
    ('Mixed_6c', 'inception6c', _INCEPTION_C),
    ('Mixed_6d', 'inception6d', _INCEPTION_C),
    ('Mixed_6e', 'inception6e', _INCEPTION_C),
    ('AuxLogits', 'aux', _INCEPTION_AUX),
    ('Mixed_7a', 'inception7a', _INCEPTION_D),
    ('Mixed_7b', 'inception7b', _INCEPTION_E),
    ('Mixed_7c', 'inception7c', _INCEPTION_E),
)
INCEPTION_V3_LINEARS = (('fc', 'classifier'), ('AuxLogits.fc', 'aux.fc'))

# --------------------------------------------------------------------------- #
# VGG: convolutions per stage (the paper's table)
# --------------------------------------------------------------------------- #
VGG_CONVS_PER_STAGE = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2),
                       16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_CLASSIFIER_LINEARS = (0, 3, 6)


def vgg_feature_indices(depth: int, with_bn: bool) -> List[Tuple[int, int]]:
    """``(mmpretrain index, torchvision index)`` of each conv in ``features``.

    mmpretrain: one ConvModule (conv, bn, act) per index, one index per pool.
    torchvision: conv, [bn,] relu each take an index, and each pool one.

    Example:
        >>> vgg_feature_indices(11, with_bn=False)[:3]
        [(0, 0), (2, 3), (4, 6)]
    """
    if depth not in VGG_CONVS_PER_STAGE:
        raise KeyError(f'VGG depth must be one of {sorted(VGG_CONVS_PER_STAGE)}, got {depth!r}')
    pairs, mm, tv = [], 0, 0
    for num_convs in VGG_CONVS_PER_STAGE[depth]:
        for _ in range(num_convs):
            pairs.append((mm, tv))
            mm += 1
            tv += 3 if with_bn else 2
        mm += 1  # max pool
        tv += 1
    return pairs


@dataclass
class _Entry:
    """One mmcls_ms key and its name in each source layout."""
    target: str
    sources: Dict[str, Optional[str]]
    optional: bool = False  # aux head: absent when aux_logits=False
    zero_like: Optional[str] = None  # MindCV conv bias: zeros shaped like weight.shape[0]


def _inception_entries() -> List[_Entry]:
    entries = []

    def conv_unit(tv, ms, optional):
        entries.append(_Entry(
            f'backbone.{tv}.conv.weight',
            dict(torchvision=f'{tv}.conv.weight', mmpretrain=f'backbone.{tv}.conv.weight',
                 mindcv=f'{ms}.conv.weight'), optional))
        for torch_name, ms_name in zip(TORCH_BN, MS_BN):
            entries.append(_Entry(
                f'backbone.{tv}.bn.{ms_name}',
                dict(torchvision=f'{tv}.bn.{torch_name}',
                     mmpretrain=f'backbone.{tv}.bn.{torch_name}',
                     mindcv=f'{ms}.bn.{ms_name}'), optional))

    for tv_block, ms_block, branches in INCEPTION_V3_LAYOUT:
        optional = tv_block == 'AuxLogits'
        if branches is None:
            conv_unit(tv_block, ms_block, optional)
        else:
            for tv_branch, ms_branch in branches:
                conv_unit(f'{tv_block}.{tv_branch}', f'{ms_block}.{ms_branch}', optional)
        if optional:
            tv_fc, ms_fc = INCEPTION_V3_LINEARS[1]
            for p in ('weight', 'bias'):
                entries.append(_Entry(f'backbone.{tv_fc}.{p}', dict(
                    torchvision=f'{tv_fc}.{p}', mmpretrain=f'backbone.{tv_fc}.{p}',
                    mindcv=f'{ms_fc}.{p}'), optional=True))
    tv_fc, ms_fc = INCEPTION_V3_LINEARS[0]
    for p in ('weight', 'bias'):
        entries.append(_Entry(f'backbone.{tv_fc}.{p}', dict(
            torchvision=f'{tv_fc}.{p}', mmpretrain=f'backbone.{tv_fc}.{p}',
            mindcv=f'{ms_fc}.{p}')))
    return entries


def _vgg_entries(depth: int, with_bn: bool) -> List[_Entry]:
    entries = []
    for mm, tv in vgg_feature_indices(depth, with_bn):
        conv = f'backbone.features.{mm}.conv'
        entries.append(_Entry(f'{conv}.weight', dict(
            torchvision=f'features.{tv}.weight', mmpretrain=f'{conv}.weight',
            mindcv=f'features.{tv}.weight')))
        entries.append(_Entry(f'{conv}.bias', dict(
            torchvision=f'features.{tv}.bias', mmpretrain=f'{conv}.bias',
            mindcv=None), zero_like=f'features.{tv}.weight'))
        if with_bn:
            bn = f'backbone.features.{mm}.bn'
            for torch_name, ms_name in zip(TORCH_BN, MS_BN):
                entries.append(_Entry(f'{bn}.{ms_name}', dict(
                    torchvision=f'features.{tv + 1}.{torch_name}',
                    mmpretrain=f'{bn}.{torch_name}',
                    mindcv=f'features.{tv + 1}.{ms_name}')))
    for i in VGG_CLASSIFIER_LINEARS:
        for p in ('weight', 'bias'):
            entries.append(_Entry(f'backbone.classifier.{i}.{p}', dict(
                torchvision=f'classifier.{i}.{p}', mmpretrain=f'backbone.classifier.{i}.{p}',
                mindcv=f'classifier.{i}.{p}')))
    return entries


def model_entries(model: str) -> List[_Entry]:
    """Every mmcls_ms key of ``model`` with its source names."""
    model = canonical_model_name(model)
    if model == 'inception_v3':
        return _inception_entries()
    depth = int(re.match(r'vgg(\d+)', model).group(1))
    return _vgg_entries(depth, model.endswith('_bn'))


def canonical_model_name(name: str) -> str:
    """``'VGG16BN'``, ``'vgg16-bn'``, ``'vgg16_bn'`` -> ``'vgg16_bn'``; ``'inception-v3'`` ->
    ``'inception_v3'``."""
    key = re.sub(r'[^a-z0-9]', '', str(name).lower())
    match = re.fullmatch(r'vgg(11|13|16|19)(bn)?', key)
    if match:
        return f'vgg{match.group(1)}' + ('_bn' if match.group(2) else '')
    if key in ('inceptionv3', 'inception3'):
        return 'inception_v3'
    raise ValueError(f'Unknown model {name!r}. Supported: {", ".join(MODELS)}.')


# --------------------------------------------------------------------------- #
# Detection
# --------------------------------------------------------------------------- #
_TRAINING_STATE = re.compile(
    r'^(moments|accum|adam_[mv]|moment[12]|ema|optimizer)\.|^(global_step|learning_rate|'
    r'momentum|beta[12]_power|scale_sense|current_iterator_step|'
    r'last_overflow_iterator_step|epoch_num|step_num|loss_scale)$')


def detect_source_format(keys) -> str:
    """Tell the source layout from its key names.

    Example:
        >>> detect_source_format(['features.0.weight', 'features.0.bias', 'classifier.6.weight'])
        'torchvision'
    """
    keys = [k for k in keys if not _TRAINING_STATE.search(k)]
    key_set = set(keys)
    if any(k.startswith('backbone.') for k in keys):
        ms_names = any(k.endswith(('.gamma', '.moving_mean')) for k in keys)
        torch_names = any(k.endswith(('.running_mean', '.num_batches_tracked')) for k in keys)
        return 'mmcls_ms' if ms_names and not torch_names else 'mmpretrain'
    if 'Conv2d_1a_3x3.conv.weight' in key_set:
        return 'torchvision'
    if 'conv1a.conv.weight' in key_set:
        return 'mindcv'
    if 'features.0.weight' in key_set:
        if any(k.endswith(('.moving_mean', '.gamma')) for k in keys):
            return 'mindcv'
        return 'torchvision' if 'features.0.bias' in key_set else 'mindcv'
    sample = ', '.join(sorted(keys)[:5])
    raise ValueError(
        f'Cannot tell the checkpoint layout from its keys (first keys: {sample}). '
        f'Pass src_format= one of {SRC_FORMATS} and model= one of {MODELS}.')


def has_native_keys(keys) -> bool:
    """Whether the names of a MindSpore .ckpt/.safetensors are mmcls_ms names:
    ``backbone.``-prefixed, without PyTorch's BN buffers (MindCV's have no prefix).

    Example:
        >>> has_native_keys(['backbone.features.0.conv.weight', 'head.fc.weight'])
        True
    """
    keys = list(keys)
    return (any(k.startswith('backbone.') for k in keys)
            and not any(k.endswith(('.running_mean', '.num_batches_tracked')) for k in keys))


def detect_model(keys, src_format: str) -> str:
    """Tell the architecture (``inception_v3``, ``vgg16_bn``, ...) from key names."""
    keys = [k[len('backbone.'):] if k.startswith('backbone.') else k for k in keys]
    if any(k.startswith(('Conv2d_1a_3x3.', 'conv1a.')) for k in keys):
        return 'inception_v3'
    if src_format in ('mmpretrain', 'mmcls_ms'):
        convs = {k for k in keys if re.fullmatch(r'features\.\d+\.conv\.weight', k)}
    else:
        convs = {k for k in keys if re.fullmatch(r'features\.\d+\.weight', k)
                 and k.replace('.weight', '.moving_mean') not in keys
                 and k.replace('.weight', '.running_mean') not in keys}
    with_bn = any(re.search(r'(running_var|moving_variance)$', k) for k in keys)
    depth = {sum(v): d for d, v in VGG_CONVS_PER_STAGE.items()}.get(len(convs))
    if depth is None:
        raise ValueError(f'Found {len(convs)} VGG convolutions; expected 8, 10, 13 or 16. '
                         f'The file may be incomplete; or pass model= one of {MODELS}.')
    return f'vgg{depth}' + ('_bn' if with_bn else '')


# --------------------------------------------------------------------------- #
# Conversion
# --------------------------------------------------------------------------- #
@dataclass
class ConversionReport:
    """What a conversion did.  ``converted`` holds ``(source key, mmcls_ms key)``."""
    src_format: str
    model: str
    converted: List[Tuple[str, str]] = field(default_factory=list)
    zero_filled: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    dst_path: str = ''

    def summary(self) -> str:
        lines = [f'{self.src_format} {self.model}: converted {len(self.converted)}, '
                 f'zero-filled {len(self.zero_filled)}, dropped {len(self.dropped)}, '
                 f'missing {len(self.missing)}']
        if self.zero_filled:
            lines.append(f'  zero-filled (source has no such tensor): '
                         f'{_abbrev(self.zero_filled)}')
        if self.dropped:
            lines.append(f'  dropped: {_abbrev(self.dropped)}')
        if self.missing:
            lines.append(f'  missing: {_abbrev(self.missing)}')
        if self.meta.get('model_overrides'):
            lines.append(f'  model_overrides: {self.meta["model_overrides"]}')
        return '\n'.join(lines)


def _abbrev(keys, limit=8):
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def _strip_wrappers(state):
    if state and all(k.startswith('module.') for k in state):
        return {k[len('module.'):]: v for k, v in state.items()}
    return state


def _convert(state, src_format='auto', model=None, progress=False):
    state = _strip_wrappers(dict(state))
    if src_format in (None, 'auto'):
        src_format = detect_source_format(state)
    if src_format not in SRC_FORMATS:
        raise ValueError(f'src_format must be auto or one of {SRC_FORMATS}, got {src_format!r}')
    if model is None:
        model = detect_model(state, src_format)
    else:
        model = canonical_model_name(model)
        try:
            detected = detect_model(state, src_format)
        except ValueError:  # incomplete file: the missing keys will say more
            detected = model
        if model != detected:
            raise ValueError(f'model={model!r} was given, but the checkpoint keys look like '
                             f'{detected!r}. Check the file, or drop model= to auto-detect.')
    report = ConversionReport(src_format, model)
    out, used = {}, set()
    entries = model_entries(model)
    if src_format == 'mmcls_ms':  # already ours: keep the keys
        for e in entries:
            e.sources['mmcls_ms'] = e.target
    has_aux = any(e.sources[src_format] in state for e in entries if e.optional)
    for e in _track(entries, f'Converting {model} ({src_format})', progress):
        src = e.sources.get(src_format)
        if src is not None and src in state:
            out[e.target] = state[src]
            used.add(src)
            report.converted.append((src, e.target))
        elif src is None and e.zero_like and e.zero_like in state:
            out[e.target] = np.zeros(state[e.zero_like].shape[0],
                                     dtype=state[e.zero_like].dtype)
            report.zero_filled.append(e.target)
        elif not e.optional or has_aux:
            report.missing.append(e.target)
    report.dropped = [k for k in state if k not in used]
    return out, report


def _track(items, description, enabled):
    if not enabled:
        return items
    return track(items, description=description)


def _meta_for(report, src_meta=None, src_path=None):
    meta = {'mmcls_ms_version': __version__, 'model': report.model,
            'config': CONFIGS[report.model],
            'converted_from': {'format': report.src_format}}
    if src_path:
        meta['converted_from']['file'] = os.path.basename(src_path)
    overrides = MODEL_OVERRIDES.get((report.src_format, report.model))
    if overrides:
        meta['model_overrides'] = overrides
    src_meta = src_meta or {}
    if report.src_format == 'mmcls_ms' and src_meta.get('model_overrides'):
        meta['model_overrides'] = src_meta['model_overrides']
    dataset_meta = src_meta.get('dataset_meta')
    if not dataset_meta and src_meta.get('CLASSES'):  # mmcls 0.x
        dataset_meta = {'classes': list(src_meta['CLASSES'])}
    if isinstance(dataset_meta, dict):
        meta['dataset_meta'] = _jsonable(dataset_meta)
    return meta


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj if isinstance(obj, (str, int, float, bool, type(None))) else str(obj)


def convert_state_dict(state: Dict[str, np.ndarray], src_format: str = 'auto',
                       model: Optional[str] = None, src_meta: Optional[dict] = None,
                       progress: bool = False) -> Tuple[Dict[str, np.ndarray], dict]:
    """Rename a torchvision / mmpretrain / MindCV state dict to mmcls_ms keys.

    Returns ``(state, meta)``; ``meta['conversion']`` counts converted,
    zero-filled, dropped and missing keys, and ``meta['model_overrides']``
    holds config changes the weights need (MindCV InceptionV3).

    Example:
        >>> import numpy as np
        >>> from mmcls_ms.weights.converters import vgg_feature_indices
        >>> src = {}
        >>> for _, tv in vgg_feature_indices(11, False):
        ...     src[f'features.{tv}.weight'] = np.zeros((2, 2, 3, 3), np.float32)
        ...     src[f'features.{tv}.bias'] = np.zeros(2, np.float32)
        >>> for i in (0, 3, 6):
        ...     src[f'classifier.{i}.weight'] = np.zeros((2, 2), np.float32)
        ...     src[f'classifier.{i}.bias'] = np.zeros(2, np.float32)
        >>> state, meta = convert_state_dict(src)
        >>> meta['model'], 'backbone.features.2.conv.weight' in state
        ('vgg11', True)
    """
    out, report = _convert(state, src_format, model, progress)
    meta = _meta_for(report, src_meta)
    meta['conversion'] = {'converted': len(report.converted),
                          'zero_filled': len(report.zero_filled),
                          'dropped': len(report.dropped), 'missing': len(report.missing)}
    return out, meta


def read_weights(path: str, progress: bool = False) -> Tuple[Dict[str, np.ndarray], dict]:
    """Read any supported weight file (.pth zip, .ckpt, .safetensors) into numpy."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Source checkpoint not found: {path!r}')
    if sniff_format(path) in ('pth', 'pth-legacy'):
        return load_pth_state_dict(path, progress=progress)
    return read_checkpoint(path)


def convert_checkpoint(src_path: str, dst_path: str, src_format: str = 'auto',
                       model: Optional[str] = None, file_format: Optional[str] = None,
                       progress: bool = False) -> ConversionReport:
    """Convert a weight file to an mmcls_ms checkpoint (with meta) and report.

    Args:
        src_path: torchvision/mmpretrain ``.pth`` (read without torch) or a MindCV ``.ckpt``.
        dst_path: the mmcls_ms ``.ckpt`` (or ``.safetensors``) to write, atomically.
        src_format: ``'auto'`` (from the key names) or one of :data:`SRC_FORMATS`.
        model: ``None`` (auto) or one of :data:`MODELS`; checked against the keys.

    Example:
        >>> r = convert_checkpoint('inception_v3-38f67890.ckpt', 'inc.ckpt')  # doctest: +SKIP
        >>> r.meta['model_overrides']                                          # doctest: +SKIP
        {'backbone': {'pool_count_include_pad': False}}
    """
    state, src_meta = read_weights(src_path, progress=progress)
    if (src_format in (None, 'auto') and sniff_format(src_path) in ('ckpt', 'safetensors')
            and has_native_keys(state)):
        src_format = 'mmcls_ms'  # a VGG without BN has mmpretrain's names, in a .pth only
    out, report = _convert(state, src_format, model, progress)
    if report.missing and report.src_format == 'mmcls_ms':
        raise ValueError(
            f'{src_path!r} is already an mmcls_ms checkpoint (its keys are mmcls_ms names), '
            f'of a model other than the standard {report.model} (it has no '
            f'{_abbrev(report.missing, 2)}): it needs no conversion. Load it as it is, e.g. '
            f'`python tools/test.py CONFIG {src_path}` or get_model(CONFIG, pretrained=...).')
    if report.missing:
        raise ValueError(
            f'Converting {src_path!r} as {report.src_format} {report.model} left '
            f'{len(report.missing)} keys without a source: {_abbrev(report.missing)}. '
            'The file is incomplete or is a different model; check --model/--src-format.')
    report.meta = _meta_for(report, src_meta, src_path)
    report.meta['conversion'] = {'converted': len(report.converted),
                                 'zero_filled': len(report.zero_filled),
                                 'dropped': len(report.dropped), 'missing': 0}
    if progress:
        print(f'Writing {dst_path} ...', flush=True)
    report.dst_path = save_state_dict(out, dst_path, meta=report.meta, file_format=file_format)
    return report
