"""``Compose``: build a list of transform configs and apply them in order."""
from typing import Callable, Optional, Sequence, Union

from mmcls_ms.registry import TRANSFORMS


class Compose:
    """Apply transforms in order; a transform returning None drops the sample.

    Args:
        transforms (list): transform configs (dicts with ``type``) or callables.

    Example:
        >>> pipeline = Compose([dict(type='CenterCrop', crop_size=2)])
    """

    def __init__(self, transforms: Sequence[Union[dict, Callable]]):
        self.transforms = []
        for i, t in enumerate(transforms or []):
            if isinstance(t, dict):
                t = TRANSFORMS.build(t)
            if not callable(t):
                raise TypeError(f'Pipeline step {i} must be a transform config dict or a '
                                f'callable, got {type(t).__name__}.')
            self.transforms.append(t)

    def __call__(self, results: dict) -> Optional[dict]:
        for t in self.transforms:
            results = t(results)
            if results is None:
                return None
        return results

    def __len__(self):
        return len(self.transforms)

    def __repr__(self):
        inner = ''.join(f'\n    {t!r},' for t in self.transforms)
        return f'Compose([{inner}\n])' if inner else 'Compose([])'
