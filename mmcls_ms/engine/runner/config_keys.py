"""Which config keys the runner reads, and a "did you mean" for the others.

mmcls_ms reads mmengine's config schema.  A key it does not know, at the top
level or inside a section whose keys are known, has no effect, so a typo such
as ``optim_wraper`` or ``train_dataloader.batch_sise`` would change nothing and
say nothing.  :func:`check_config_keys` returns one warning per such key, with
the closest known key (difflib).  Keys that mmpretrain configs carry and that
mean nothing here are listed once, in :data:`ACCEPTED_KEYS` (the dataloader's
come from the loader, which drops them), and stay quiet.

Top-level names are also the config file's own variables (``bgr_mean``,
``data_root``...), so an unknown top-level name is reported only when it is
close to a known key.

Example:
    >>> print(check_config_keys({'optim_wraper': dict(clip_grad=None)})[0])
    Config key `optim_wraper` is not read by mmcls_ms, so it has no effect. Did you mean `optim_wrapper`?
"""
import difflib
import inspect
from typing import Iterable, List, Mapping, Optional

from mmcls_ms.datasets.loader import IGNORED_KEYS as IGNORED_DATALOADER_KEYS
from mmcls_ms.registry import LOOPS, OPTIM_WRAPPERS, OPTIMIZERS

# the hooks every run has, by name (a config replaces one under its name, or
# disables it with None)
DEFAULT_HOOKS = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# the top-level keys the Runner takes as arguments
SCHEMA_KEYS = ('model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
               'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
               'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks',
               'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher',
               'env_cfg', 'log_level', 'randomness', 'default_scope', 'visualizer')
# ... and those read elsewhere (mmengine's Config reads `custom_imports`)
TOP_LEVEL_KEYS = SCHEMA_KEYS + ('vis_backends', 'custom_imports')

# keys of mmpretrain / mmengine / PyTorch configs that have no meaning here, by section
# ('' is the top level); they are accepted without a word
ACCEPTED_KEYS = {
    '': ('dataset_type', 'data_root', 'train_pipeline', 'val_pipeline', 'test_pipeline',
         'bgr_mean', 'bgr_std', 'img_norm_cfg', 'log_processor'),
    'env_cfg': ('cudnn_benchmark', 'mp_cfg'),
    'dataloader': IGNORED_DATALOADER_KEYS,
}

SECTION_KEYS = {
    'dataloader': ('batch_size', 'dataset', 'num_workers', 'sampler', 'drop_last',
                   'worker_type', 'collate_fn', 'batch_sampler'),
    'env_cfg': ('mode', 'device_target', 'jit_level', 'dist_cfg'),
    'randomness': ('seed', 'deterministic'),
    'auto_scale_lr': ('enable', 'base_batch_size'),
    # the names under which a config replaces a default hook (mmpretrain adds
    # `visualization`; mmengine has `runtime_info`)
    'default_hooks': tuple(DEFAULT_HOOKS) + ('visualization', 'runtime_info'),
    'visualizer': ('type', 'vis_backends', 'save_dir', 'name'),
}


def _init_keys(cls) -> Optional[set]:
    """Keyword arguments ``cls`` accepts (following ``**kwargs`` up the classes),
    or None when it takes any."""
    keys = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        keys.update(p.name for p in params
                    if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != 'self')
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return keys
    return None


def _registered_keys(registry, type_name, default, extra=()) -> Optional[set]:
    cls = registry.get(type_name or default) if isinstance(type_name or default, str) else None
    if cls is None:
        return None  # an unknown type is reported by the registry when it is built
    keys = _init_keys(cls)
    return None if keys is None else keys | {'type'} | set(extra)


def _warning(path: str, key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    prefix = f'{path}.' if path else ''
    text = f'Config key `{prefix}{key}` is not read by mmcls_ms, so it has no effect.'
    if close:
        text += f' Did you mean `{prefix}{close[0]}`?'
    return text


def _check_section(path, section, known, accepted=()) -> List[str]:
    if not isinstance(section, Mapping) or known is None:
        return []
    return [_warning(path, key, known) for key in section
            if key not in known and key not in accepted and not str(key).startswith('_')]


def _backend_types(backends) -> list:
    return [b.get('type') for b in backends if isinstance(b, Mapping)]


def _check_vis_backends(visualizer, vis_backends) -> List[str]:
    """The run uses ``visualizer.vis_backends`` (as mmengine does); the top-level
    variable only when the visualizer names none.  Say so when the top-level one
    asks for a backend that will not be used."""
    if not (isinstance(visualizer, Mapping) and visualizer.get('vis_backends') is not None
            and isinstance(vis_backends, (list, tuple))):
        return []
    used = _backend_types(visualizer['vis_backends'])
    unused = [name for name in _backend_types(vis_backends) if name not in used]
    if not unused:
        return []
    names = ', '.join(map(str, unused))
    return [f'Config key `vis_backends` lists {names}, which `visualizer.vis_backends` does '
            'not: the run uses only `visualizer.vis_backends` (as mmengine does), so '
            f'{names} writes nothing. List every backend in `visualizer.vis_backends`.']


def check_config_keys(cfg: Mapping) -> List[str]:
    """One warning per config key that mmcls_ms does not read (see the module doc).

    Example:
        >>> check_config_keys({'train_dataloader': dict(batch_sise=32)})[0].split('. ')[-1]
        'Did you mean `train_dataloader.batch_size`?'
    """
    warnings = []
    known_top = set(TOP_LEVEL_KEYS)
    for key in cfg:
        if (key in known_top or key in ACCEPTED_KEYS[''] or str(key).startswith('_')
                or not difflib.get_close_matches(key, known_top, n=1, cutoff=0.8)):
            continue
        warnings.append(_warning('', key, known_top))

    for split in ('train', 'val', 'test'):
        warnings += _check_section(f'{split}_dataloader', cfg.get(f'{split}_dataloader'),
                                   SECTION_KEYS['dataloader'], ACCEPTED_KEYS['dataloader'])
    for name in ('env_cfg', 'randomness', 'auto_scale_lr', 'visualizer'):
        warnings += _check_section(name, cfg.get(name), SECTION_KEYS[name],
                                   ACCEPTED_KEYS.get(name, ()))
    warnings += _check_vis_backends(cfg.get('visualizer'), cfg.get('vis_backends'))
    hooks = cfg.get('default_hooks')
    if isinstance(hooks, Mapping):
        known = SECTION_KEYS['default_hooks']
        for name in hooks:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            # another name adds a hook of its own, so only a near miss is reported
            if name not in known and close:
                warnings.append(
                    f'Config key `default_hooks.{name}` is not the name of a default hook: it '
                    f'adds one more hook and leaves the default one as it was. Did you mean '
                    f'`default_hooks.{close[0]}`?')

    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, Mapping):
        warnings += _check_section('optim_wrapper', wrapper, _registered_keys(
            OPTIM_WRAPPERS, wrapper.get('type'), 'OptimWrapper', extra=('paramwise_cfg',)))
        optimizer = wrapper.get('optimizer')
        if isinstance(optimizer, Mapping):
            keys = _registered_keys(OPTIMIZERS, optimizer.get('type'), None,
                                    extra=('weight_decay', ))
            warnings += _check_section('optim_wrapper.optimizer', optimizer,
                                       None if keys is None else keys - {'params'})

    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, Mapping):
        loop = train_cfg.get('type') or ('EpochBasedTrainLoop' if train_cfg.get('by_epoch', True)
                                         else 'IterBasedTrainLoop')
        keys = _registered_keys(LOOPS, loop, None, extra=('by_epoch', ))
        warnings += _check_section('train_cfg', train_cfg,
                                   None if keys is None else keys - {'runner', 'dataloader'})
    for split, loop in (('val_cfg', 'ValLoop'), ('test_cfg', 'TestLoop')):
        section = cfg.get(split)
        if isinstance(section, Mapping):
            keys = _registered_keys(LOOPS, section.get('type'), loop)
            warnings += _check_section(
                split, section,
                None if keys is None else keys - {'runner', 'dataloader', 'evaluator'})
    return warnings
