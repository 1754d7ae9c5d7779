"""Config loading for the command-line tools, with clear errors.

Example:
    >>> cfg = load_config('configs/vgg/vgg11bn-gap_1xb32_digits.py',
    ...                   ['model.head.num_classes=10'])   # doctest: +SKIP
"""
import argparse
import ast
import os
import traceback
from typing import List, Optional, Union

from mmengine.config import Config, DictAction


class ConfigOverrideError(ValueError):
    """A malformed ``--cfg-options`` item."""


class ConfigFileError(ValueError):
    """A config file (or one of its ``_base_`` files) that does not run."""


class ConfigValueError(ValueError):
    """A config value that cannot be right (e.g. a negative learning rate)."""


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


def _base_files(path: str) -> List[str]:
    """``path`` and the local ``_base_`` files it inherits from, recursively
    (package bases such as ``mmpretrain::...`` are left to mmengine)."""
    files, todo = [], [os.path.abspath(path)]
    while todo:
        current = todo.pop()
        if current in files or not os.path.isfile(current):
            continue
        files.append(current)
        if not current.endswith('.py'):
            continue
        with open(current, encoding='utf-8') as f:
            source = f.read()
        try:
            tree = ast.parse(source, filename=current)
        except SyntaxError as err:
            raise ConfigFileError(
                f'{current}:{err.lineno}: syntax error in the config: {err.msg}. Fix this '
                'line of the file.') from None
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], 'id', None) == '_base_'):
                try:
                    bases = ast.literal_eval(node.value)
                except ValueError:
                    continue
                for base in [bases] if isinstance(bases, str) else list(bases):
                    if not isinstance(base, str) or '::' in base or '{{' in base:
                        continue
                    resolved = os.path.normpath(os.path.join(os.path.dirname(current), base))
                    if not os.path.isfile(resolved):
                        raise ConfigFileError(
                            f'{current}:{node.lineno}: the _base_ file {base!r} does not exist '
                            f'({resolved}). _base_ paths are relative to the config file.')
                    todo.append(resolved)
    return files


def _read_config(path: str) -> Config:
    """``Config.fromfile`` whose errors name the config file and line."""
    files = _base_files(path)
    try:
        return Config.fromfile(path)
    except Exception as err:
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if os.path.abspath(f.filename) in files]
        if not frames:
            raise
        where = frames[-1]
        raise ConfigFileError(f'{where.filename}:{where.lineno}: the config raised '
                              f'{type(err).__name__}: {err}. Fix this line of the '
                              'file.') from None


def _check_override_types(cfg: Config, options: dict) -> None:
    """Refuse an override that puts text where the config has a number or a bool
    (``model.head.num_classes=abc``), naming the key."""
    for key, value in options.items():
        if not isinstance(value, str):
            continue
        node = cfg.to_dict()
        for part in key.split('.'):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
                break
        if isinstance(node, (bool, int, float)):
            kind = {bool: 'True or False', int: 'an int'}.get(type(node), 'a number')
            raise ConfigOverrideError(
                f'--cfg-options {key}={value}: {key} must be {kind} (the config has '
                f'{node!r}), got the text {value!r}.')


def load_config(path: str, cfg_options: Optional[Union[dict, list]] = None) -> Config:
    """Load a Python config file and merge ``cfg_options`` (dict or KEY=VALUE list).

    A syntax error or an exception in the file or one of its ``_base_`` files
    raises :class:`ConfigFileError` naming the file and line; an override whose
    text replaces a number raises :class:`ConfigOverrideError` naming the key.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path}. Configs live under configs/ '
                                '(e.g. configs/vgg/vgg11bn-gap_1xb32_digits.py).')
    cfg = _read_config(path)
    if cfg_options:
        if not isinstance(cfg_options, dict):
            cfg_options = parse_cfg_options(cfg_options)
        _check_override_types(cfg, cfg_options)
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as err:
            raise ConfigOverrideError(f'--cfg-options {cfg_options}: cannot merge into '
                                      f'{path}: {err}') from None
    return cfg
