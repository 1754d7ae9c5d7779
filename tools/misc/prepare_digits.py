"""Write the bundled handwritten digits as PNG files (no download).

    python tools/misc/prepare_digits.py                  # -> data/digits
    python tools/misc/prepare_digits.py --data-root /tmp/digits --size 32 --force

The result is a ``CustomDataset`` folder layout, ``DATA_ROOT/{train,val}/<digit>/*.png``
(1442 train and 355 val images, a fixed stratified 80/20 split). The ``Digits``
dataset type does the same automatically on first use.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.datasets.digits import DIGITS_SIZE, prepare_digits  # noqa: E402
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write the bundled digits as PNG files')
    parser.add_argument('--data-root', default='data/digits', help='target folder')
    parser.add_argument('--size', type=int, default=DIGITS_SIZE,
                        help='image side in pixels (the 8x8 digits are upsampled)')
    parser.add_argument('--force', action='store_true', help='rewrite an existing folder')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.size < 8:
        raise ValueError(f'--size must be >= 8, got {args.size}.')
    from mmcls_ms.datasets.digits import is_prepared
    if is_prepared(args.data_root) and not args.force:
        print(f'{args.data_root} is already prepared (use --force to rewrite it).')
        return
    prepare_digits(args.data_root, size=args.size, force=args.force, verbose=True)


if __name__ == '__main__':
    run_cli(main)
