"""Paths the web demo tests share."""
import glob
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DIGITS_CONFIG = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def digit_files(root, split, per_class):
    """The first ``per_class`` PNG files of each digit in ``root/split``, by label."""
    return [f for label in range(10)
            for f in sorted(glob.glob(osp.join(root, split, str(label), '*.png')))[:per_class]]


def digits_input_size():
    """The side the config's test pipeline resizes the digits to: what the model sees."""
    from mmengine.config import Config
    return Config.fromfile(DIGITS_CONFIG).test_pipeline[1]['scale']
