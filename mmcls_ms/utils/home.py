"""The folder mmcls_ms keeps its caches in: ``$MMCLS_MS_HOME``, by default
``~/.cache/mmcls_ms`` (downloaded checkpoints in ``checkpoints/``, the built
oneDNN kernels in ``ops/``).

An environment variable, not a config key: the inference API and the
downloads read no config.

Example:
    >>> import os
    >>> os.environ['MMCLS_MS_HOME'] = '/tmp/mmcls_home'
    >>> mmcls_ms_home('checkpoints')
    '/tmp/mmcls_home/checkpoints'
    >>> del os.environ['MMCLS_MS_HOME']
"""
import os

HOME_ENV = 'MMCLS_MS_HOME'
DEFAULT_HOME = os.path.join('~', '.cache', 'mmcls_ms')


def mmcls_ms_home(*parts: str) -> str:
    """``$MMCLS_MS_HOME`` (``~`` expanded; unset or empty: ``~/.cache/mmcls_ms``)
    joined with ``parts``."""
    home = os.environ.get(HOME_ENV) or DEFAULT_HOME
    return os.path.join(os.path.expanduser(home), *parts)
