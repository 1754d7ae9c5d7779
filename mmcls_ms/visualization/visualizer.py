"""Draw predictions on images (used by ``tools/test.py --show-dir`` and the demo).

Example:
    >>> vis = UniversalVisualizer()
    >>> canvas = vis.draw_cls(image_bgr, [('tabby cat', 0.93), ('tiger cat', 0.04)])  # doctest: +SKIP
"""
import json
import os
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mmcls_ms.registry import VISBACKENDS, VISUALIZERS


@VISBACKENDS.register_module()
class LocalVisBackend:
    """Writes scalars as JSON lines and images as PNG files under ``save_dir``."""

    def __init__(self, save_dir: Optional[str] = None):
        self.save_dir = save_dir

    def add_scalars(self, scalars: dict, step: int = 0) -> None:
        os.makedirs(self.save_dir, exist_ok=True)
        with open(os.path.join(self.save_dir, 'scalars.json'), 'a') as f:
            f.write(json.dumps(dict(scalars, step=step)) + '\n')

    def add_image(self, name: str, image: np.ndarray) -> None:
        os.makedirs(self.save_dir, exist_ok=True)
        cv2.imwrite(os.path.join(self.save_dir, name), image)


@VISUALIZERS.register_module()
class UniversalVisualizer:
    """Renders the top predictions as a text box in the image's corner."""

    def __init__(self, vis_backends=None, save_dir: Optional[str] = None, **kwargs):
        self.save_dir = save_dir

    @staticmethod
    def draw_cls(image: np.ndarray, predictions: Sequence[Tuple[str, float]],
                 ground_truth: Optional[str] = None, min_width: int = 320) -> np.ndarray:
        """Return a BGR copy of ``image`` with one line per (class, score)."""
        canvas = np.ascontiguousarray(image.copy())
        if canvas.ndim == 2:
            canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
        height, width = canvas.shape[:2]
        if width < min_width:  # small images: enlarge so the text is legible
            scale = min_width / width
            canvas = cv2.resize(canvas, (min_width, max(1, round(height * scale))),
                                interpolation=cv2.INTER_NEAREST)
        lines = [f'{name}: {score:.2f}' for name, score in predictions]
        if ground_truth is not None:
            lines.append(f'gt: {ground_truth}')
        font, font_scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
        y = 4
        for text in lines:
            (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
            cv2.rectangle(canvas, (2, y), (8 + tw, y + th + base + 4), (0, 0, 0), -1)
            cv2.putText(canvas, text, (5, y + th + 2), font, font_scale, (255, 255, 255),
                        thickness, cv2.LINE_AA)
            y += th + base + 6
        return canvas
