"""All registries of mmcls_ms, in scope ``mmcls_ms``.

They mirror mmpretrain's registry names, but none has a parent: mmengine's root
registries hold PyTorch classes (its SGD, Runner, hooks), and a lookup that fell
through to them would import torch.  Each registry imports the package that
fills it on first use (``locations``), so ``MODELS.build(...)`` works without a
prior ``import mmcls_ms.models``.

Example:
    >>> from mmcls_ms.registry import MODELS
    >>> net = MODELS.build(dict(type='VGG', depth=11, num_classes=10))
"""
import difflib
import threading
from typing import Any, Callable, Iterable

from mmengine.registry import Registry
from mmengine.registry.build_functions import build_from_cfg


def did_you_mean(name: str, known: Iterable[str], n: int = 1, cutoff: float = 0.6) -> str:
    """`` Did you mean 'x'?`` naming the closest of ``known`` to ``name``
    (difflib), or '' when none is close.

    Example:
        >>> did_you_mean('intervl', ['interval', 'enable'])
        " Did you mean 'interval'?"
    """
    close = difflib.get_close_matches(name, sorted(known), n=n, cutoff=cutoff)
    return f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''


def _build_with_suggestions(cfg, registry, default_args=None):
    """``build_from_cfg`` that names the registry, the scope and close matches
    when ``type`` is unknown."""
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(obj_type, str):
        registry.import_from_location()
        scope, name = registry.split_scope_key(obj_type)
        target = registry
        if scope is not None and scope != registry.scope:
            target = registry._search_child(scope) or registry
        if name not in target.module_dict:
            known = sorted(target.module_dict)
            hint = did_you_mean(name, known, n=3, cutoff=0.5)
            raise KeyError(
                f'Unknown type {obj_type!r} in the {registry.name!r} registry of scope '
                f'{registry.scope!r}.{hint} Registered types: {", ".join(known)}. '
                'Check the `type=` in your config, or register your class with '
                f'@{_VARIABLE_NAMES.get(registry.name, "REGISTRY")}.register_module().')
    return build_from_cfg(cfg, registry, default_args)


_VARIABLE_NAMES = {}
_model_builds = threading.local()  # how deep inside MODELS.build this thread is
_model_build_hooks = []  # called on each model MODELS.build returns to its caller


def on_model_built(hook: Callable[[Any], Any]) -> None:
    """Call ``hook(model)`` on every model that ``MODELS.build`` hands back to its
    caller (once: not on each backbone, neck or head built inside it).  The
    layers above the registry register here, e.g. ``mmcls_ms.models`` the CPU
    backend, so the registry imports none of them.

    Example:
        >>> on_model_built(print)  # doctest: +SKIP
    """
    if hook not in _model_build_hooks:
        _model_build_hooks.append(hook)


def _build_model(cfg, registry, default_args=None):
    """``MODELS.build``, then the :func:`on_model_built` hooks on the outermost model."""
    depth = getattr(_model_builds, 'depth', 0)
    _model_builds.depth = depth + 1
    try:
        model = _build_with_suggestions(cfg, registry, default_args)
    finally:
        _model_builds.depth = depth
    if depth == 0:
        for hook in _model_build_hooks:
            hook(model)
    return model


def _registry(name, location, variable, build_func=_build_with_suggestions):
    _VARIABLE_NAMES[name] = variable
    return Registry(name, build_func=build_func, scope='mmcls_ms', locations=[location])


# engine
RUNNERS = _registry('runner', 'mmcls_ms.engine', 'RUNNERS')
LOOPS = _registry('loop', 'mmcls_ms.engine', 'LOOPS')
HOOKS = _registry('hook', 'mmcls_ms.engine', 'HOOKS')
OPTIMIZERS = _registry('optimizer', 'mmcls_ms.engine', 'OPTIMIZERS')
OPTIM_WRAPPERS = _registry('optim_wrapper', 'mmcls_ms.engine', 'OPTIM_WRAPPERS')
PARAM_SCHEDULERS = _registry('parameter scheduler', 'mmcls_ms.engine', 'PARAM_SCHEDULERS')

# data
DATASETS = _registry('dataset', 'mmcls_ms.datasets', 'DATASETS')
DATA_SAMPLERS = _registry('data sampler', 'mmcls_ms.datasets', 'DATA_SAMPLERS')
TRANSFORMS = _registry('transform', 'mmcls_ms.datasets', 'TRANSFORMS')

# models: backbones, necks, heads, losses, classifiers and preprocessors alike
MODELS = _registry('model', 'mmcls_ms.models', 'MODELS', build_func=_build_model)
BATCH_AUGMENTS = _registry('batch augment', 'mmcls_ms.models', 'BATCH_AUGMENTS')

# evaluation
METRICS = _registry('metric', 'mmcls_ms.evaluation', 'METRICS')
EVALUATORS = _registry('evaluator', 'mmcls_ms.evaluation', 'EVALUATORS')

# visualization
VISUALIZERS = _registry('visualizer', 'mmcls_ms.visualization', 'VISUALIZERS')
VISBACKENDS = _registry('vis_backend', 'mmcls_ms.visualization', 'VISBACKENDS')
