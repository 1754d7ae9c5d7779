from .visualizer import LocalVisBackend, UniversalVisualizer

__all__ = ['UniversalVisualizer', 'LocalVisBackend']
