"""The model zoo: named models read from ``model-index.yml`` and its metafiles.

The index is found inside the installed package (``mmcls_ms/.mim/``, where
``setup.py`` links or copies ``configs/`` and ``model-index.yml``), and in a
checkout at the repository root.  Metafiles are OpenMMLab's format, parsed with
PyYAML; a model inherits the ``Metadata`` of its ``In Collection``.

Example:
    >>> from mmcls_ms.apis.model_index import ModelHub
    >>> ModelHub.get('vgg11bn_8xb32_in1k').weights.endswith('.pth')
    True
"""
import copy
import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import yaml
from mmengine.config import Config

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX_NAME = 'model-index.yml'


def default_index_paths() -> List[str]:
    """The ``model-index.yml`` of the installed package, else of the checkout."""
    for root in (os.path.join(PACKAGE_DIR, '.mim'), os.path.dirname(PACKAGE_DIR)):
        path = os.path.join(root, INDEX_NAME)
        if os.path.isfile(path):
            return [path]
    return []


@dataclass
class ModelInfo:
    """One model of the zoo (a ``Models:`` entry with its collection merged in)."""
    name: str
    config_path: Optional[str]
    weights: Optional[str]
    metadata: Dict = field(default_factory=dict)
    results: List[Dict] = field(default_factory=list)
    collection: Optional[str] = None
    converted_from: Optional[Dict] = None
    _config: object = None

    @property
    def config(self) -> Config:
        """The model's mmengine ``Config``, read on first use."""
        if self._config is None:
            if not self.config_path or not os.path.isfile(self.config_path):
                raise FileNotFoundError(
                    f'The config of model {self.name!r} is missing: {self.config_path}. '
                    'Reinstall mmcls_ms (`pip install -e .` links configs/ into mmcls_ms/.mim).')
            self._config = Config.fromfile(self.config_path)
        return self._config

    @property
    def tasks(self) -> List[str]:
        return [r.get('Task') for r in self.results if r.get('Task')]


def _read_yaml(path):
    try:
        with open(path, encoding='utf-8') as f:
            return yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise ValueError(f'The model index file {path} is not valid YAML: {e}') from None


def parse_metafile(path: str, config_prefix: Optional[str] = None) -> Dict[str, ModelInfo]:
    """Read one OpenMMLab metafile into ``{lower-case name: ModelInfo}``.

    ``Config:`` paths are taken relative to ``config_prefix`` (default: the
    folder of the ``model-index.yml`` that imports it, which is the repository
    or ``.mim`` root).
    """
    data = _read_yaml(path)
    root = config_prefix if config_prefix is not None else os.path.dirname(path)
    collections = {c['Name']: c for c in data.get('Collections') or []}
    models = {}
    for entry in data.get('Models') or []:
        name = entry.get('Name')
        if not name:
            raise ValueError(f'A model in {path} has no "Name".')
        collection = collections.get(entry.get('In Collection'), {})
        metadata = dict(collection.get('Metadata') or {})
        metadata.update(entry.get('Metadata') or {})
        config = entry.get('Config')
        if config and not os.path.isabs(config):
            config = os.path.normpath(os.path.join(root, config))
        models[name.lower()] = ModelInfo(
            name=name, config_path=config, weights=entry.get('Weights'), metadata=metadata,
            results=list(entry.get('Results') or []), collection=entry.get('In Collection'),
            converted_from=entry.get('Converted From'))
    return models


def parse_model_index(path: str, config_prefix: Optional[str] = None) -> Dict[str, ModelInfo]:
    """Read a ``model-index.yml`` (its ``Import:`` metafiles and inline ``Models:``)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Model index {path} does not exist.')
    data = _read_yaml(path)
    root = config_prefix if config_prefix is not None else os.path.dirname(path)
    models = {}
    for metafile in data.get('Import') or []:
        metafile_path = os.path.join(os.path.dirname(path), metafile)
        if not os.path.isfile(metafile_path):
            raise FileNotFoundError(f'{path} imports {metafile}, which does not exist at '
                                    f'{metafile_path}.')
        models.update(parse_metafile(metafile_path, root))
    if data.get('Models'):
        models.update(parse_metafile(path, root))
    return models


class ModelHub:
    """All named models: the package's index plus any registered with
    :meth:`register_model_index`.  Class-level, read lazily once."""

    _models: Dict[str, ModelInfo] = {}
    _index_paths: List[tuple] = []
    _loaded = False

    @classmethod
    def _load(cls):
        if cls._loaded:
            return
        paths = default_index_paths()
        if not paths:
            raise FileNotFoundError(
                f'Cannot find {INDEX_NAME} in {os.path.join(PACKAGE_DIR, ".mim")} nor in the '
                f'checkout {os.path.dirname(PACKAGE_DIR)}. Install mmcls_ms with '
                '`pip install -e .` (it links configs/ and model-index.yml into the package).')
        for path in paths:
            cls._models.update(parse_model_index(path))
        cls._loaded = True

    @classmethod
    def register_model_index(cls, path: str, config_prefix: Optional[str] = None) -> List[str]:
        """Add the models of another ``model-index.yml`` or metafile.

        Example:
            >>> ModelHub.register_model_index('my_zoo/model-index.yml')  # doctest: +SKIP
        """
        cls._load()
        data = _read_yaml(path) if os.path.isfile(path) else {}
        if 'Import' in data:
            new = parse_model_index(path, config_prefix)
        else:
            new = parse_metafile(path, config_prefix)
        cls._models.update(new)
        cls._index_paths.append((path, config_prefix))
        return sorted(m.name for m in new.values())

    @classmethod
    def unregister(cls, name: str) -> None:
        """Remove a model (used by tests that register a temporary index)."""
        cls._models.pop(name.lower(), None)

    @classmethod
    def has(cls, name: str) -> bool:
        cls._load()
        return name.lower() in cls._models

    @classmethod
    def get(cls, name: str) -> ModelInfo:
        """A copy of the model's entry; unknown names raise ``ValueError`` with
        the closest names."""
        cls._load()
        info = cls._models.get(name.lower())
        if info is None:
            known = sorted(m.name for m in cls._models.values())
            close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=3,
                                              cutoff=0.5)
            close_names = [m.name for m in cls._models.values() if m.name.lower() in close]
            hint = (f' Did you mean: {", ".join(close_names)}?' if close_names else '')
            # mmpretrain's naming trap: a config file stem is not a model name
            users = sorted(m.name for m in cls._models.values() if m.config_path and
                           os.path.splitext(os.path.basename(m.config_path))[0] == name)
            if users:
                hint = (f' {name!r} is the name of a config file, used by the model(s) '
                        f'{", ".join(users)}.')
            raise ValueError(
                f'Failed to find model {name!r} in the model zoo.{hint} '
                'List the names with `mmcls_ms.apis.list_models()`, or pass a config file '
                '(.py) instead of a name.')
        copied = copy.copy(info)
        copied._config = None
        return copied

    @classmethod
    def names(cls) -> List[str]:
        cls._load()
        return [m.name for m in cls._models.values()]

    @classmethod
    def infos(cls) -> List[ModelInfo]:
        cls._load()
        return list(cls._models.values())


def register_model_index(path: str, config_prefix: Optional[str] = None) -> List[str]:
    """Add the models of ``path`` (a ``model-index.yml`` or a metafile) to the
    zoo; returns their names.  ``Config:`` paths are relative to
    ``config_prefix`` (default: the folder of ``path``).

    Example:
        >>> register_model_index('tests/data/model-index.yml')  # doctest: +SKIP
        ['tiny-vgg_test']
    """
    return ModelHub.register_model_index(path, config_prefix)


def list_models(pattern: Optional[str] = None, exclude_patterns: Optional[List[str]] = None,
                task: Optional[str] = None) -> List[str]:
    """Names of the models in the zoo, sorted.

    Args:
        pattern: a wildcard (``fnmatch``) pattern; a trailing ``*`` is implied,
            so ``'vgg'`` lists every VGG.
        exclude_patterns: wildcard patterns to drop.
        task: keep models with a result for this task, e.g.
            ``'Image Classification'`` (case-insensitive).

    Example:
        >>> list_models('vgg11')
        ['vgg11_8xb32_in1k', 'vgg11_mindcv-8xb32_in1k', 'vgg11bn_8xb32_in1k']
    """
    infos = ModelHub.infos()
    if task is not None:
        wanted = task.lower()
        infos = [m for m in infos if any(t.lower() == wanted for t in m.tasks)]
    names = [m.name for m in infos]
    if pattern is not None:
        # mmpretrain matches "pattern*" so that prefixes work
        names = fnmatch.filter(names, pattern.lower() + '*' if not pattern.endswith('*')
                               else pattern.lower())
    for exclude in exclude_patterns or []:
        dropped = set(fnmatch.filter(names, exclude + '*' if not exclude.endswith('*')
                                     else exclude))
        names = [n for n in names if n not in dropped]
    return sorted(names)
