"""Where the scalars of a run go: mmengine's ``vis_backends``.

- ``LocalVisBackend``: ``<save_dir>/scalars.json``, one JSON object per call
  (``{"loss": ..., "lr": ..., "step": ...}``), and images under
  ``<save_dir>/vis_image/``.  The runner's ``save_dir`` is
  ``<work_dir>/<timestamp>/vis_data``, as in mmengine.
- ``TensorboardVisBackend``: TensorBoard event files in ``save_dir``, written
  with ``tensorboardX`` (no torch, no TensorFlow; ``pip install
  'mmcls_ms[tensorboard]'``).  ``tensorboard --logdir work_dirs`` shows them.

Example:
    >>> backend = LocalVisBackend(save_dir='work_dirs/run/vis_data')   # doctest: +SKIP
    >>> backend.add_scalars({'loss': 0.41, 'lr': 0.01}, step=20)         # doctest: +SKIP
"""
import json
import os

import cv2
import numpy as np

from mmcls_ms.registry import VISBACKENDS

# mmengine's backends that send data to a service: not available here
UNSUPPORTED_BACKENDS = ('WandbVisBackend', 'MLflowVisBackend', 'ClearMLVisBackend',
                        'NeptuneVisBackend', 'DVCLiveVisBackend', 'AimVisBackend')


def _numeric(scalars: dict) -> dict:
    return {k: float(v) for k, v in scalars.items()
            if k != 'step' and isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, bool)}


@VISBACKENDS.register_module()
class LocalVisBackend:
    """Scalars as JSON lines and images as PNG files under ``save_dir``."""

    def __init__(self, save_dir: str, img_save_dir: str = 'vis_image',
                 scalar_save_file: str = 'scalars.json', config_save_file: str = 'config.py'):
        self.save_dir = save_dir
        self.img_save_dir = os.path.join(save_dir, img_save_dir)
        self.scalar_save_file = os.path.join(save_dir, scalar_save_file)

    def add_scalars(self, scalars: dict, step: int = 0) -> None:
        """Append ``scalars`` and ``step`` to the JSON lines file."""
        os.makedirs(self.save_dir, exist_ok=True)
        with open(self.scalar_save_file, 'a') as f:
            f.write(json.dumps(dict(scalars, step=step)) + '\n')

    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """Write ``image`` (HxWx3 BGR uint8) as ``vis_image/<name>_<step>.png``."""
        os.makedirs(self.img_save_dir, exist_ok=True)
        cv2.imwrite(os.path.join(self.img_save_dir, f'{name}_{step}.png'), image)

    def close(self) -> None:
        """Nothing is held open."""


@VISBACKENDS.register_module()
class TensorboardVisBackend:
    """TensorBoard event files in ``save_dir`` (needs ``tensorboardX``)."""

    def __init__(self, save_dir: str):
        try:
            from tensorboardX import SummaryWriter  # optional extra: imported only when used
        except ImportError:
            raise ImportError(
                'visualizer.vis_backends: TensorboardVisBackend writes TensorBoard files with '
                "tensorboardX, which is not installed: pip install 'mmcls_ms[tensorboard]' (or "
                'pip install tensorboardX), or remove this backend.') from None
        self._writer_cls = SummaryWriter
        self.save_dir = save_dir
        self._writer = None

    @property
    def writer(self):
        """The event file writer, opened on first use (again after :meth:`close`)."""
        if self._writer is None:
            self._writer = self._writer_cls(logdir=self.save_dir)
        return self._writer

    def add_scalars(self, scalars: dict, step: int = 0) -> None:
        """One scalar event per number in ``scalars``, flushed at once (the tools
        end without the interpreter's teardown)."""
        for key, value in _numeric(scalars).items():
            self.writer.add_scalar(key, value, global_step=int(step))
        self.writer.flush()

    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """``image`` is HxWx3 BGR uint8."""
        self.writer.add_image(name, image[..., ::-1].copy(), global_step=int(step),
                              dataformats='HWC')
        self.writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = ['LocalVisBackend', 'TensorboardVisBackend', 'UNSUPPORTED_BACKENDS']
