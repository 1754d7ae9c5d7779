"""Small utilities.  Kept import-light: nothing here imports MindSpore eagerly,
and ``import mmcls_ms.utils`` imports no third-party package (``mmcls_ms.ops``
reads ``utils.home`` before MindSpore is loaded)."""

__all__ = ['register_all_modules']


def __getattr__(name):
    # mmengine's registry, imported on first use
    if name == 'register_all_modules':
        from .setup_env import register_all_modules
        return register_all_modules
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
