from .score_tta import AverageClsScoreTTA

__all__ = ['AverageClsScoreTTA']
