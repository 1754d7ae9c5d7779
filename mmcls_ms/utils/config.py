"""Config loading for the command-line tools, with clear errors.

Example:
    >>> cfg = load_config('configs/vgg/vgg11bn-gap_1xb32_digits.py',
    ...                   ['model.head.num_classes=10'])   # doctest: +SKIP
"""
import argparse
import os

from mmengine.config import Config, DictAction


class ConfigOverrideError(ValueError):
    """A malformed ``--cfg-options`` item."""


def parse_cfg_options(items):
    """Parse ``key=value`` strings as mmengine's DictAction does, naming the bad item."""
    options = {}
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    for item in items or []:
        if '=' not in item or not item.split('=', 1)[0].strip():
            raise ConfigOverrideError(
                f'--cfg-options: {item!r} is not KEY=VALUE. Write e.g. '
                "model.head.num_classes=10 or train_cfg.max_epochs=2 (no spaces around '=').")
        namespace = argparse.Namespace()
        try:
            action(None, namespace, [item])
        except Exception as err:
            key = item.split('=', 1)[0]
            raise ConfigOverrideError(f'--cfg-options: cannot parse the value of {key!r} in '
                                      f'{item!r} ({err}).') from None
        options.update(namespace.cfg_options)
    return options


ENV_OPTIONS = 'MMCLS_MS_CFG_OPTIONS'


def env_cfg_options() -> list:
    """KEY=VALUE items from ``$MMCLS_MS_CFG_OPTIONS`` (space separated).

    The tools apply them after ``--cfg-options``: a quick way to shrink every
    run of a script or a document, e.g.
    ``MMCLS_MS_CFG_OPTIONS="train_cfg.max_epochs=1"``.
    """
    return os.environ.get(ENV_OPTIONS, '').split()


def load_config(path: str, cfg_options=None) -> Config:
    """Load a Python config file and merge ``cfg_options`` (dict or KEY=VALUE list)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path}. Configs live under configs/ '
                                '(e.g. configs/vgg/vgg11bn-gap_1xb32_digits.py).')
    cfg = Config.fromfile(path)
    if cfg_options:
        if not isinstance(cfg_options, dict):
            cfg_options = parse_cfg_options(cfg_options)
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as err:
            raise ConfigOverrideError(f'--cfg-options {cfg_options}: cannot merge into '
                                      f'{path}: {err}') from None
    return cfg
