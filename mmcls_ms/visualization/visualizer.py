"""The visualizer of a run: hands scalars and images to the ``vis_backends``,
and draws predictions on images (the one drawer of the project: the
inferencer's ``show_dir``, ``tools/test.py --show-dir`` and the demo use it).

Example:
    >>> import numpy as np
    >>> canvas = UniversalVisualizer.draw_cls(np.zeros((64, 64, 3), np.uint8),
    ...                                       [('tabby cat', 0.93), ('tiger cat', 0.04)])
    >>> canvas.shape
    (400, 400, 3)
"""
import copy
import os
import sys
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mmcls_ms.registry import VISBACKENDS, VISUALIZERS
from .vis_backend import UNSUPPORTED_BACKENDS

MIN_WIDTH = 400  # small images are enlarged so that the text stays readable


@VISUALIZERS.register_module()
class UniversalVisualizer:
    """mmpretrain's visualizer: its backends are built under ``save_dir``.

    Args:
        vis_backends: backend configs, e.g. ``[dict(type='LocalVisBackend')]``.
        save_dir: where the backends write (the runner gives
            ``<work_dir>/<timestamp>/vis_data``); None builds no backend.
        name: accepted for mmengine's signature.
    """

    def __init__(self, vis_backends: Optional[Sequence[dict]] = None,
                 save_dir: Optional[str] = None, name: str = 'visualizer'):
        self.save_dir = save_dir
        self.name = name
        self.backends = []
        for cfg in vis_backends or []:
            cfg = dict(cfg)
            if cfg.get('type') in UNSUPPORTED_BACKENDS:
                raise ValueError(
                    f"visualizer.vis_backends: {cfg['type']} is not supported by mmcls_ms; use "
                    "dict(type='LocalVisBackend') (scalars.json) or "
                    "dict(type='TensorboardVisBackend') (TensorBoard event files).")
            if save_dir is not None:
                cfg.setdefault('save_dir', save_dir)
                self.backends.append(VISBACKENDS.build(cfg))

    def add_scalars(self, scalars: dict, step: int = 0) -> None:
        """Hand ``scalars`` (name -> number) at ``step`` to every backend."""
        for backend in self.backends:
            backend.add_scalars(scalars, step=step)

    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """Hand ``image`` (HxWx3 BGR uint8) to every backend."""
        for backend in self.backends:
            backend.add_image(name, image, step=step)

    def close(self) -> None:
        for backend in self.backends:
            backend.close()

    @staticmethod
    def show(image: np.ndarray, win_name: str = 'image', wait_time: float = 0.) -> None:
        """Show ``image`` (BGR) in an OpenCV window for ``wait_time`` seconds
        (0: until a key is pressed), as mmengine's ``Visualizer.show``.

        Example:
            >>> image = np.zeros((8, 8, 3), np.uint8)
            >>> UniversalVisualizer.show(image, wait_time=0.5)  # doctest: +SKIP
        """
        if not has_display():
            raise RuntimeError('There is no display to show images on (DISPLAY is unset); '
                               'write them to files instead.')
        cv2.imshow(win_name, image)
        # waitKey(0) waits for a key; any positive time, however short, does not
        cv2.waitKey(0 if wait_time <= 0 else max(1, round(wait_time * 1000)))

    @staticmethod
    def draw_cls(image: np.ndarray, predictions: Sequence[Tuple[str, float]],
                 ground_truth: Optional[str] = None, draw_score: bool = True,
                 min_width: int = MIN_WIDTH) -> np.ndarray:
        """A BGR copy of ``image`` with one line per ``(class, score)`` (and the
        ground truth) on a darkened band at its top-left corner.

        Example:
            >>> canvas = UniversalVisualizer.draw_cls(np.zeros((8, 8, 3), np.uint8),
            ...                                       [('cat', 0.9)], ground_truth='cat')
        """
        canvas = np.ascontiguousarray(image)
        if canvas.ndim == 2:
            canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
        if canvas.shape[1] < min_width:
            scale = min_width / canvas.shape[1]
            canvas = cv2.resize(canvas, (min_width, max(1, round(canvas.shape[0] * scale))),
                                interpolation=cv2.INTER_NEAREST)
        canvas = canvas.copy()
        font, font_scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
        lines = [f'{name}: {score:.3f}' if draw_score else str(name)
                 for name, score in predictions]
        if ground_truth is not None:
            lines.append(f'gt: {ground_truth}')
        sizes = [cv2.getTextSize(line, font, font_scale, thickness)[0] for line in lines]
        line_height = max((h for _, h in sizes), default=12) + 8
        width = max((w for w, _ in sizes), default=0) + 12
        height = line_height * len(lines) + 6
        band = canvas[:height, :width].astype(np.float32)
        canvas[:height, :width] = (band * 0.35).astype(np.uint8)  # darken for contrast
        for i, line in enumerate(lines):
            y = 6 + line_height * (i + 1) - 6
            cv2.putText(canvas, line, (6, y), font, font_scale, (255, 255, 255), thickness,
                        cv2.LINE_AA)
        return canvas


def has_display() -> bool:
    """Whether a window can be opened: an X11 or Wayland display is set (on
    Linux; Windows and macOS always have one).

    Example:
        >>> isinstance(has_display(), bool)
        True
    """
    if sys.platform in ('win32', 'darwin'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def build_visualizer(visualizer_cfg: Optional[dict], save_dir: Optional[str],
                     vis_backends: Optional[Sequence[dict]] = None) -> UniversalVisualizer:
    """The run's visualizer from the config's ``visualizer`` (mmengine's default,
    a ``LocalVisBackend``, when the config has none).

    ``vis_backends`` is the config's top-level variable: used when
    ``visualizer`` names no backends.

    Example:
        >>> vis = build_visualizer(dict(type='UniversalVisualizer',
        ...                             vis_backends=[dict(type='LocalVisBackend')]),
        ...                        save_dir='work_dirs/run/vis_data')   # doctest: +SKIP
    """
    cfg = copy.deepcopy(dict(visualizer_cfg)) if visualizer_cfg is not None else dict(
        type='UniversalVisualizer')
    cfg.setdefault('type', 'UniversalVisualizer')
    if cfg.get('vis_backends') is None:
        cfg['vis_backends'] = (list(vis_backends) if vis_backends is not None else
                               [dict(type='LocalVisBackend')])
    cfg['save_dir'] = save_dir
    return VISUALIZERS.build(cfg)


def write_image(path: str, canvas: np.ndarray) -> str:
    """Write ``canvas`` to ``path`` (folders made); return ``path``.

    Example:
        >>> write_image('outputs/x.png', np.zeros((4, 4, 3), np.uint8))  # doctest: +SKIP
        'outputs/x.png'
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, canvas):
        raise OSError(f'Could not write the drawn image to {path!r}.')
    return path
