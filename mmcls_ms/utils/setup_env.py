"""Register every mmcls_ms module and make ``mmcls_ms`` the default scope."""
import datetime
import warnings

from mmengine.registry import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all mmcls_ms packages so their classes are registered.

    Args:
        init_default_scope: also set the default scope to ``mmcls_ms`` so that
            configs without a scope prefix resolve to mmcls_ms' registries.

    Example:
        >>> from mmcls_ms.utils import register_all_modules
        >>> register_all_modules()
    """
    import mmcls_ms.datasets  # noqa: F401
    import mmcls_ms.engine  # noqa: F401
    import mmcls_ms.evaluation  # noqa: F401
    import mmcls_ms.models  # noqa: F401
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmcls_ms', scope_name='mmcls_ms')
    elif current.scope_name != 'mmcls_ms':
        warnings.warn(f'The current default scope "{current.scope_name}" is not '
                      '"mmcls_ms"; `register_all_modules` opens a new scope "mmcls_ms".')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmcls_ms-{stamp}', scope_name='mmcls_ms')
