"""Test images with their predicted class drawn on them: as PNG files in
``out_dir`` (``tools/test.py --show-dir``), in a window (``show``,
``tools/test.py --show``), else through the run's visualizer
(``LocalVisBackend``: ``vis_data/vis_image/``; ``TensorboardVisBackend``: images
in the event file)."""
import os

import cv2
import numpy as np

from mmcls_ms.registry import HOOKS
from mmcls_ms.utils.arg_checks import check_int
from mmcls_ms.visualization import UniversalVisualizer, has_display
from .hook import Hook, check_hook_options

WINDOW = 'test image'


@HOOKS.register_module()
class VisualizationHook(Hook):
    """mmpretrain's hook, for the test loop.

    Args:
        enable: draw anything at all (off by default, as mmpretrain).
        interval: draw every n-th sample.
        show: show each drawn image in a window (needs a display).
        wait_time: with ``show``, seconds each image stays up (0: until a key).
        out_dir: write the PNGs here (``tools/test.py --show-dir``); None: the
            visualizer's backends, unless ``show``.

    Example:
        >>> hook = VisualizationHook(enable=True, out_dir='outputs/vis')
    """

    priority = 'NORMAL'
    KEYS = ('enable', 'interval', 'show', 'wait_time', 'out_dir')

    def __init__(self, enable: bool = False, interval: int = 1, out_dir: str = None,
                 show: bool = False, wait_time: float = 0., **kwargs):
        # mmpretrain hands more keys to its drawer; none of them is drawn here
        check_hook_options('default_hooks.visualization', kwargs, {}, self.KEYS)
        if enable and show and not has_display():
            raise RuntimeError('default_hooks.visualization: show=True needs a display and '
                               'DISPLAY is unset; set out_dir to write the images instead.')
        if wait_time < 0:
            raise ValueError(f'default_hooks.visualization: wait_time must be >= 0 seconds, '
                             f'got {wait_time}.')
        self.enable = enable
        self.interval = check_int(interval, 'default_hooks.visualization: interval')
        self.out_dir = out_dir
        self.show = show
        self.wait_time = wait_time
        self.drawn = 0

    def before_test(self, runner):
        self.drawn = 0

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
            self.drawn += 1
            if self.show:
                UniversalVisualizer.show(canvas, WINDOW, self.wait_time)
            if self.out_dir:
                cv2.imwrite(os.path.join(self.out_dir, f'{idx:06d}_{stem}.png'), canvas)
            elif not self.show:
                runner.visualizer.add_image(f'{idx:06d}_{stem}', canvas, step=runner.epoch)

    def after_test(self, runner):
        if not self.enable or runner.rank != 0:
            return
        if self.show:
            cv2.destroyAllWindows()
        places = ([f'shown in a window, {self.wait_time:g} s each'] if self.show else []) + (
            [f'written to {self.out_dir}'] if self.out_dir else [])
        runner.logger.info(f'Drew {self.drawn} test images with their predictions'
                           f'{" (" + "; ".join(places) + ")" if places else ""}.')
