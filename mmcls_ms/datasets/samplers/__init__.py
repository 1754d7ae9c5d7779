from .default_sampler import DefaultSampler, InfiniteSampler
from .repeat_aug import RepeatAugSampler

__all__ = ['DefaultSampler', 'InfiniteSampler', 'RepeatAugSampler']
