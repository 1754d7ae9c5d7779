from .default_sampler import DefaultSampler

__all__ = ['DefaultSampler']
