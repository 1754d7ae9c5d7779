from .vis_backend import LocalVisBackend, TensorboardVisBackend
from .visualizer import UniversalVisualizer, build_visualizer, has_display

__all__ = ['UniversalVisualizer', 'LocalVisBackend', 'TensorboardVisBackend',
           'build_visualizer', 'has_display']
