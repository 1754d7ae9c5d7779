"""``CutMix`` (Yun et al., "CutMix: Regularization Strategy to Train Strong
Classifiers with Localizable Features", arXiv 1905.04899) with mmpretrain's
semantics: ``lam ~ Beta(alpha, alpha)`` per batch, a box of the permuted batch
pasted into each image, targets mixed by the pasted area.
"""
from typing import Optional, Sequence

import numpy as np

from mmcls_ms.registry import BATCH_AUGMENTS
from .mixup import check_alpha


@BATCH_AUGMENTS.register_module()
class CutMix:
    """Paste a box from another image of the batch.

    Args:
        alpha: Beta distribution parameter, > 0.
        cutmix_minmax: ``[lo, hi]`` box side as a fraction of the image side,
            drawn uniformly (then ``lam`` comes from the box only); None: the
            box area is ``1 - lam``.
        correct_lam: set ``lam`` to the share of the image kept after clipping
            the box at the border.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((2, 3, 8, 8), np.float32); x[1] = 1
        >>> mx, mt = CutMix(alpha=1.0)(x, np.eye(2, dtype=np.float32),
        ...                            np.random.default_rng(0))
        >>> bool(np.allclose(mt.sum(1), 1.0))
        True
    """

    def __init__(self, alpha: float, cutmix_minmax: Optional[Sequence[float]] = None,
                 correct_lam: bool = True):
        self.alpha = check_alpha(alpha, type(self).__name__)
        if cutmix_minmax is not None:
            if len(cutmix_minmax) != 2 or not 0 < cutmix_minmax[0] <= cutmix_minmax[1] <= 1:
                raise ValueError('CutMix cutmix_minmax must be [lo, hi] with '
                                 f'0 < lo <= hi <= 1, got {cutmix_minmax!r}.')
        self.cutmix_minmax = cutmix_minmax
        self.correct_lam = correct_lam

    def box(self, height: int, width: int, lam: float, rng: np.random.Generator):
        """``(y1, y2, x1, x2), lam``: the pasted rows/columns and the kept share."""
        if self.cutmix_minmax is not None:
            lo, hi = self.cutmix_minmax
            cut_h = rng.integers(int(height * lo), int(height * hi))
            cut_w = rng.integers(int(width * lo), int(width * hi))
            y1 = rng.integers(0, height - cut_h)
            x1 = rng.integers(0, width - cut_w)
            y2, x2 = y1 + cut_h, x1 + cut_w
        else:
            ratio = np.sqrt(1 - lam)
            cut_h, cut_w = int(height * ratio), int(width * ratio)
            cy, cx = rng.integers(0, height), rng.integers(0, width)
            y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
            x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
        if self.correct_lam or self.cutmix_minmax is not None:
            lam = 1 - (y2 - y1) * (x2 - x1) / float(height * width)
        return (int(y1), int(y2), int(x1), int(x2)), lam

    def __call__(self, inputs: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
        """Mixed ``(inputs, targets)``; float32 inputs ``(N, C, H, W)``, targets ``(N, K)``."""
        lam = rng.beta(self.alpha, self.alpha)
        index = rng.permutation(len(inputs))
        (y1, y2, x1, x2), lam = self.box(inputs.shape[-2], inputs.shape[-1], lam, rng)
        inputs = inputs.astype(np.float32, copy=True)
        inputs[:, :, y1:y2, x1:x2] = inputs[index, :, y1:y2, x1:x2]
        targets = lam * targets + (1 - lam) * targets[index]
        return inputs, targets.astype(np.float32)

    def __repr__(self):
        return (f'CutMix(alpha={self.alpha}, cutmix_minmax={self.cutmix_minmax}, '
                f'correct_lam={self.correct_lam})')
