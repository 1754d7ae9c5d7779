"""``Mixup`` (Zhang et al., "mixup: Beyond Empirical Risk Minimization",
arXiv 1710.09412) with mmpretrain's semantics: one ``lam ~ Beta(alpha, alpha)``
per batch, ``x = lam * x + (1 - lam) * x[perm]`` and the same for the targets.

The mix runs in numpy on the batch before it enters the compiled step, on the
raw pixels: normalising is affine per channel, so mixing then normalising
gives the very batch that mmpretrain's normalise-then-mix gives.
"""
import numpy as np

from mmcls_ms.registry import BATCH_AUGMENTS


def check_alpha(alpha, name: str) -> float:
    """``alpha`` as a float, refused unless it is a number above 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f'{name} alpha must be a number > 0 (the Beta(alpha, alpha) '
                         f'parameter), got {alpha!r}.')
    return float(alpha)


@BATCH_AUGMENTS.register_module()
class Mixup:
    """Mix each image with another of the batch, and its target likewise.

    Args:
        alpha: Beta distribution parameter, > 0.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((4, 3, 8, 8), np.float32); x[0] = 1
        >>> t = np.eye(4, dtype=np.float32)
        >>> mx, mt = Mixup(alpha=1.0)(x, t, np.random.default_rng(0))
        >>> bool(np.allclose(mt.sum(1), 1.0)), mx.shape
        (True, (4, 3, 8, 8))
    """

    def __init__(self, alpha: float):
        self.alpha = check_alpha(alpha, 'Mixup')

    def __call__(self, inputs: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
        """Mixed ``(inputs, targets)``; float32 inputs ``(N, C, H, W)``, targets ``(N, K)``."""
        lam = rng.beta(self.alpha, self.alpha)
        index = rng.permutation(len(inputs))
        inputs = lam * inputs + (1 - lam) * inputs[index]
        targets = lam * targets + (1 - lam) * targets[index]
        return inputs.astype(np.float32), targets.astype(np.float32)

    def __repr__(self):
        return f'Mixup(alpha={self.alpha})'
