"""``RandomBatchAugment``: pick one of the batch augments per batch
(mmpretrain's ``train_cfg=dict(augments=[...], probs=[...])``)."""
from typing import Optional, Sequence

import numpy as np

from mmcls_ms.registry import BATCH_AUGMENTS
from mmcls_ms.utils.config import ConfigValueError


def labels_to_onehot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Int labels ``(N,)`` -> float32 one-hot ``(N, num_classes)``.

    Example:
        >>> labels_to_onehot(np.array([1, 0]), 3).tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'Batch augments need labels in 0..{num_classes - 1} (the '
                         f'num_classes of the data preprocessor or head), got '
                         f'{sorted(set(labels.tolist()))}.')
    return np.eye(num_classes, dtype=np.float32)[labels]


def _build_augment(cfg, key: str):
    if not isinstance(cfg, dict):
        return cfg
    try:
        return BATCH_AUGMENTS.build(cfg)
    except ValueError as err:  # the augment cannot know where its config sits
        raise ConfigValueError(f'{key}: {err}') from None


class RandomBatchAugment:
    """One augment per batch, chosen with ``probs``.

    Args:
        augments: batch augment configs (or objects), e.g.
            ``[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]``.
        probs: the chance of each; None is uniform.  If they sum below 1 the
            rest of the batches pass unchanged (but with one-hot targets).

    Example:
        >>> aug = RandomBatchAugment([dict(type='Mixup', alpha=0.2)], probs=[0.5])
        >>> x, t = aug(np.zeros((2, 3, 4, 4), np.uint8), np.eye(2, dtype=np.float32),
        ...            np.random.default_rng(0))
        >>> x.dtype, t.shape
        (dtype('float32'), (2, 2))
    """

    def __init__(self, augments, probs: Optional[Sequence[float]] = None):
        if isinstance(augments, dict):
            augments = [augments]
        if not augments:
            raise ValueError('model.train_cfg.augments is empty; list at least one batch '
                             "augment, e.g. [dict(type='Mixup', alpha=0.8)].")
        self.augments = [_build_augment(a, f'model.train_cfg.augments[{i}]')
                         for i, a in enumerate(augments)]
        if probs is None:
            probs = [1.0 / len(self.augments)] * len(self.augments)
        elif isinstance(probs, (int, float)):
            probs = [probs]
        probs = [float(p) for p in probs]
        if len(probs) != len(self.augments):
            raise ValueError(f'model.train_cfg.probs has {len(probs)} values for '
                             f'{len(self.augments)} augments; give one per augment.')
        if any(p < 0 for p in probs) or sum(probs) > 1 + 1e-6:
            raise ConfigValueError(f'model.train_cfg.probs={probs} must be >= 0 and sum to '
                                   'at most 1.')
        if sum(probs) < 1:  # the rest: no augment
            self.augments.append(None)
            probs.append(1 - sum(probs))
        self.probs = np.asarray(probs) / sum(probs)

    def __call__(self, inputs: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
        """``(float32 inputs, float32 targets)`` after the augment drawn for this batch."""
        augment = self.augments[rng.choice(len(self.augments), p=self.probs)]
        inputs = inputs.astype(np.float32)
        if augment is None:
            return inputs, targets.astype(np.float32)
        return augment(inputs, targets, rng)

    def __repr__(self):
        return f'RandomBatchAugment(augments={self.augments}, probs={self.probs.tolist()})'
