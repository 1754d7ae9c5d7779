"""Small utilities.  Kept import-light: nothing here imports MindSpore eagerly."""
from .setup_env import register_all_modules

__all__ = ['register_all_modules']
