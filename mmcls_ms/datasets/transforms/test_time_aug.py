"""``TestTimeAug``: several views of one sample, for test-time augmentation.

As mmcv's: one pipeline per element of the Cartesian product of the stage
lists, each run on its own copy of the sample.  The views must end packed and
share a shape; their ``inputs`` are stacked to ``(V, C, H, W)``, so a batch is
``(N, V, C, H, W)`` and a TTA model (``AverageClsScoreTTA``) merges the views.

Example:
    >>> import numpy as np
    >>> tta = TestTimeAug(transforms=[[dict(type='RandomFlip', prob=1.),
    ...                                dict(type='RandomFlip', prob=0.)],
    ...                               [dict(type='PackInputs')]])
    >>> tta(dict(img=np.zeros((4, 6, 3), np.uint8), sample_idx=0))['inputs'].shape
    (2, 3, 4, 6)
"""
import copy
import itertools
from typing import Callable, Sequence, Union

import numpy as np

from mmcls_ms.registry import TRANSFORMS
from .compose import Compose


@TRANSFORMS.register_module()
class TestTimeAug:
    """Run every combination of the stage lists on a copy of the sample.

    Args:
        transforms (list[list]): stages; each a list of alternative
            transforms (configs or callables).  ``[[A, B], [Pack]]`` gives the
            views ``A -> Pack`` and ``B -> Pack``.
    """

    def __init__(self, transforms: Sequence[Sequence[Union[dict, Callable]]]):
        if (not isinstance(transforms, (list, tuple)) or not transforms
                or not all(isinstance(stage, (list, tuple)) and stage for stage in transforms)):
            raise TypeError('TestTimeAug(transforms=...) takes a list of non-empty lists of '
                            'transforms, e.g. [[dict(type="RandomFlip", prob=1.), '
                            'dict(type="RandomFlip", prob=0.)], [dict(type="PackInputs")]].')
        self.views = [Compose(list(combination))
                      for combination in itertools.product(*transforms)]

    def __call__(self, results: dict) -> dict:
        outputs = []
        for i, view in enumerate(self.views):
            out = view(copy.deepcopy(results))
            if out is None or 'inputs' not in out:
                raise ValueError(f'TestTimeAug view {i} gave no packed sample: end every view '
                                 'with PackInputs (put it in the last stage).')
            outputs.append(out)
        shapes = sorted({tuple(o['inputs'].shape) for o in outputs})
        if len(shapes) > 1:
            raise ValueError(f'TestTimeAug views differ in shape {shapes}: every view must '
                             'give the same image size (crop or resize to a fixed size).')
        packed = dict(outputs[0])
        packed['inputs'] = np.stack([o['inputs'] for o in outputs])
        return packed

    def __repr__(self):
        return f'{type(self).__name__}(views={len(self.views)})'
