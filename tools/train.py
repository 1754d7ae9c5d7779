"""Train a classifier from a config.

    python tools/train.py configs/vgg/vgg11bn-gap_1xb32_digits.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --cfg-options train_cfg.max_epochs=2
    python tools/train.py CONFIG --resume            # latest checkpoint in the work_dir
    python tools/train.py CONFIG --resume work_dirs/run1/epoch_3.ckpt
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.utils.cli import run_cli  # noqa: E402
from mmcls_ms.utils.config import env_cfg_options, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in the work_dir '
        'when no path is given')
    add_training_options(parser)
    return parser.parse_args(argv)


def add_training_options(parser):
    """The switches that train.py shares with kfold-cross-valid.py."""
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision with a dynamic loss scale')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not validate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr with the real global batch size')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, e.g. train_cfg.max_epochs=2 '
                        "model.head.num_classes=10; lists as a=[1,2] or a='[(1,2)]'")
    parser.add_argument('--launcher', choices=['none', 'msrun'], default='none',
                        help='job launcher (tools/dist_train.sh uses msrun)')


def merge_args(cfg, args):
    """Apply the command-line switches to the config (mmpretrain's rules)."""
    # work_dir: command line > config > ./work_dirs/<config stem>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        if not cfg.get('auto_scale_lr') or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size; '
                           'add auto_scale_lr = dict(base_batch_size=256).')
        cfg.auto_scale_lr.enable = True
    cfg.launcher = args.launcher
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config, args.cfg_options + env_cfg_options()), args)
    from mmcls_ms.engine import Runner
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    run_cli(main)
