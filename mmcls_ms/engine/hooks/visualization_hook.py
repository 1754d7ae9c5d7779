"""Test images with their predicted class drawn on them: as PNG files in
``out_dir`` (``tools/test.py --show-dir``), else through the run's visualizer
(``LocalVisBackend``: ``vis_data/vis_image/``; ``TensorboardVisBackend``: images
in the event file)."""
import os

import cv2
import numpy as np

from mmcls_ms.registry import HOOKS
from mmcls_ms.visualization import UniversalVisualizer
from .hook import Hook


@HOOKS.register_module()
class VisualizationHook(Hook):
    """Args: ``enable`` (off by default), ``interval`` (every n-th sample),
    ``out_dir`` (where the PNGs go; ``tools/test.py --show-dir`` sets it; None:
    the visualizer's backends)."""

    priority = 'NORMAL'

    def __init__(self, enable: bool = False, interval: int = 1, out_dir: str = None,
                 show: bool = False, **kwargs):
        self.enable = enable
        self.interval = max(1, interval)
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.enable or runner.rank != 0 or outputs is None:
            return
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
        dataset = runner.test_dataloader.dataset
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        scores, labels = outputs
        for row, idx in enumerate(np.asarray(data_batch['sample_idx'])):
            if idx < 0 or idx % self.interval:
                continue
            info = dataset.get_data_info(int(idx))
            image = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
            if image is None:
                continue
            label = int(labels[row])
            name = classes[label] if classes else str(label)
            gt = int(data_batch['gt_label'][row])
            gt_name = classes[gt] if classes else str(gt)
            canvas = UniversalVisualizer.draw_cls(image, [(name, float(scores[row][label]))],
                                                  ground_truth=gt_name)
            stem = os.path.splitext(os.path.basename(info['img_path']))[0]
            if self.out_dir:
                cv2.imwrite(os.path.join(self.out_dir, f'{idx:06d}_{stem}.png'), canvas)
            else:
                runner.visualizer.add_image(f'{idx:06d}_{stem}', canvas, step=runner.epoch)
