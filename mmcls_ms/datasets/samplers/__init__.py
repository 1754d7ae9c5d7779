from .default_sampler import DefaultSampler, InfiniteSampler

__all__ = ['DefaultSampler', 'InfiniteSampler']
