"""Draw the top-k classes and scores of a prediction on its image (OpenCV).

Example:
    >>> import numpy as np
    >>> draw_top_k(np.zeros((64, 64, 3), np.uint8), [('cat', 0.9)], '/tmp/x.png')
    '/tmp/x.png'
"""
import os
from typing import Sequence, Tuple

import cv2
import numpy as np

MIN_WIDTH = 400  # small images are enlarged so that the text stays readable


def draw_top_k(img: np.ndarray, top_k: Sequence[Tuple[str, float]], out_path: str,
               draw_score: bool = True) -> str:
    """Write ``img`` (HxWx3 BGR uint8) with one line per ``(class, score)``
    drawn on a dark band at its top-left corner; returns ``out_path``."""
    canvas = np.ascontiguousarray(img)
    if canvas.ndim == 2:
        canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
    if canvas.shape[1] < MIN_WIDTH:
        scale = MIN_WIDTH / canvas.shape[1]
        canvas = cv2.resize(canvas, (MIN_WIDTH, max(1, round(canvas.shape[0] * scale))),
                            interpolation=cv2.INTER_NEAREST)
    canvas = canvas.copy()
    font, font_scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    lines = [f'{name}: {score:.3f}' if draw_score else str(name) for name, score in top_k]
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
    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    if not cv2.imwrite(out_path, canvas):
        raise OSError(f'Could not write the drawn image to {out_path!r}.')
    return out_path
