"""Print a config after ``_base_`` inheritance and ``--cfg-options`` overrides.

    python tools/misc/print_config.py configs/vgg/vgg11_8xb32_in1k.py
    python tools/misc/print_config.py CONFIG --cfg-options model.backbone.depth=13 \\
        model.head.num_classes=10

A malformed override (``a.b`` without ``=``, unbalanced brackets, a key that
cannot merge) ends with ``error: ...`` naming it, and exit status 1.  A key
that mmcls_ms does not read gets the warning a run would start with.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.utils.cli import run_cli  # noqa: E402
from mmcls_ms.utils.config import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    # parsed by mmengine's DictAction inside load_config, one item at a time,
    # so a malformed item is reported by name
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, e.g. model.backbone.depth=13 '
                        "model.head.num_classes=10; lists as a=[1,2] or a='[(1,2)]'")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    # the warnings a run would start with: a typo'd key is found before training
    from mmcls_ms.engine.runner.config_keys import check_config_keys
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    for message in check_config_keys(cfg):
        print(f'warning: {message}', file=sys.stderr)


if __name__ == '__main__':
    run_cli(main)
