"""Convert torchvision / mmpretrain / MindCV weights to an mmcls_ms checkpoint.

Reads PyTorch .pth files without PyTorch (a restricted unpickler that never
runs code from the file) and MindCV .ckpt files, renames the keys, and writes
an mmcls_ms .ckpt (or .safetensors) with meta: the model, the config to build
it with, the classes when the source has them, and any config overrides the
weights need (MindCV InceptionV3: ``pool_count_include_pad=False``).

Examples:
    python tools/model_converters/convert.py vgg16-397923af.pth vgg16.ckpt
    python tools/model_converters/convert.py inception_v3-38f67890.ckpt inc.ckpt \\
        --src-format mindcv --model inception_v3
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import mmcls_ms  # noqa: E402,F401  (picks the oneDNN ISA before MindSpore starts)
from mmcls_ms.utils.cli import error_message, is_expected_error  # noqa: E402
from mmcls_ms.weights.converters import MODELS, SRC_FORMATS, convert_checkpoint  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvision / mmpretrain / MindCV weights to mmcls_ms.')
    parser.add_argument('src', help='source .pth (torchvision, mmpretrain) or .ckpt (MindCV)')
    parser.add_argument('dst', help='output mmcls_ms checkpoint (.ckpt or .safetensors)')
    parser.add_argument('--src-format', default='auto', choices=('auto', ) + SRC_FORMATS,
                        help='source key layout (default: detected from the key names)')
    parser.add_argument('--model', default=None,
                        help=f'architecture, one of {", ".join(MODELS)} (default: detected)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = convert_checkpoint(args.src, args.dst, src_format=args.src_format,
                                    model=args.model, progress=not args.no_progress)
    except Exception as err:  # noqa: B902
        if not is_expected_error(err):
            raise  # a bug: keep its traceback
        print(error_message(err), file=sys.stderr)
        return 1
    print(report.summary())
    print(f'Saved {report.dst_path}')
    print(f'Build the model with {report.meta["config"]}'
          + (f' plus {report.meta["model_overrides"]}' if report.meta.get('model_overrides')
             else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
