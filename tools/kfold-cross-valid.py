"""K-fold cross validation: train one model per fold of the training set
(mmpretrain's ``tools/kfold-cross-valid.py``).

    python tools/kfold-cross-valid.py CONFIG --num-splits 5
    python tools/kfold-cross-valid.py CONFIG --num-splits 5 --fold 2   # one fold
    python tools/kfold-cross-valid.py CONFIG --num-splits 5 --resume   # continue

Fold ``i`` trains on the training set minus its ``i``-th part and validates
(and tests) on that part, with the validation pipeline; its logs and
checkpoints go to ``WORK_DIR/fold{i}``.  ``WORK_DIR/kfold_exp.json`` records
the fold, its last checkpoint and the split seed after every epoch, which is
what ``--resume`` continues from.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.engine.hooks import find_latest_checkpoint  # noqa: E402
from mmcls_ms.engine.hooks.hook import Hook  # noqa: E402
from mmcls_ms.registry import HOOKS  # noqa: E402
from mmcls_ms.utils.cli import run_cli  # noqa: E402
from mmcls_ms.utils.config import env_cfg_options, load_config  # noqa: E402
from tools.train import add_training_options, merge_args  # noqa: E402

EXP_INFO = 'kfold_exp.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='K-fold cross validation of a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--num-splits', type=int, required=True, help='the number of folds K')
    parser.add_argument('--fold', type=int, help='run only this fold (0-based)')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--seed', type=int, help='seed of the split (default: a random one, '
                        'recorded in kfold_exp.json)')
    parser.add_argument('--resume', action='store_true',
                        help='continue from WORK_DIR/kfold_exp.json')
    parser.add_argument('--no-pin-memory', action='store_true', help='accepted; no effect')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='accepted; no effect')
    add_training_options(parser)
    return parser.parse_args(argv)


@HOOKS.register_module(force=True)  # force: the tool may be imported more than once
class SaveFoldInfoHook(Hook):
    """Write ``kfold_exp.json`` after every training epoch (for ``--resume``)."""

    priority = 'LOWEST'  # after the checkpoint hook has written the epoch's file

    def __init__(self, path, fold, split_seed):
        self.path, self.fold, self.split_seed = path, fold, split_seed

    def after_train_epoch(self, runner):
        if runner.rank != 0:
            return
        last_ckpt = find_latest_checkpoint(runner.work_dir)
        with open(self.path, 'w') as f:
            json.dump(dict(fold=self.fold, last_ckpt=last_ckpt,
                           kfold_split_seed=self.split_seed), f)


def fold_config(cfg, fold, num_splits, seed):
    """The config of one fold: KFold views of the *training* dataset, the
    held-out part with the val/test pipelines."""
    cfg = copy.deepcopy(cfg)
    train_dataset = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='KFoldDataset', dataset=train_dataset, fold=fold,
                                        num_splits=num_splits, seed=seed)
    for split in ('val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        if 'pipeline' not in loader.dataset:
            raise KeyError(f'{split}_dataloader.dataset has no `pipeline`: k-fold validation '
                           'runs that pipeline on the held-out part of the training set.')
        held_out = copy.deepcopy(train_dataset)
        held_out['pipeline'] = loader.dataset['pipeline']
        loader.dataset = dict(type='KFoldDataset', dataset=held_out, fold=fold,
                              num_splits=num_splits, seed=seed, test_mode=True)
    cfg.work_dir = osp.join(cfg.work_dir, f'fold{fold}')
    return cfg


def main(argv=None):
    args = parse_args(argv)
    if args.num_splits < 2:
        raise ValueError(f'--num-splits must be >= 2, got {args.num_splits}.')
    if args.fold is not None and not 0 <= args.fold < args.num_splits:
        raise ValueError(f'--fold must be in [0, {args.num_splits}), got {args.fold}.')
    train_args = argparse.Namespace(config=args.config, work_dir=args.work_dir, amp=args.amp,
                                    resume=None, no_validate=args.no_validate,
                                    auto_scale_lr=args.auto_scale_lr, launcher=args.launcher)
    cfg = merge_args(load_config(args.config, args.cfg_options + env_cfg_options()), train_args)
    from mmcls_ms.engine import Runner
    from mmcls_ms.utils import register_all_modules
    register_all_modules()

    info_path = osp.join(cfg.work_dir, EXP_INFO)
    seed, first_fold, resume_ckpt = args.seed, 0, None
    if args.resume:
        if not osp.isfile(info_path):
            raise FileNotFoundError(f'--resume: {info_path} does not exist; start without '
                                    '--resume.')
        with open(info_path) as f:
            info = json.load(f)
        seed, first_fold, resume_ckpt = info['kfold_split_seed'], info['fold'], info['last_ckpt']
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 31))
    folds = [args.fold] if args.fold is not None else range(first_fold, args.num_splits)
    os.makedirs(cfg.work_dir, exist_ok=True)
    results = {}
    for fold in folds:
        fold_cfg = fold_config(cfg, fold, args.num_splits, seed)
        if resume_ckpt and fold == first_fold:
            fold_cfg.resume, fold_cfg.load_from = True, resume_ckpt
        fold_cfg.custom_hooks = list(fold_cfg.get('custom_hooks') or []) + [
            dict(type='SaveFoldInfoHook', path=info_path, fold=fold, split_seed=seed)]
        runner = Runner.from_cfg(fold_cfg)
        runner.logger.info(f'Fold {fold + 1} of {args.num_splits} (split seed {seed})')
        runner.train()
        if runner.val_loop is not None and runner.val_loop.last_metrics:
            results[fold] = runner.val_loop.last_metrics
    if results:
        keys = [k for k, v in next(iter(results.values())).items() if np.ndim(v) == 0]
        for key in keys:
            values = [m[key] for m in results.values()]
            print(f'{key}: ' + ', '.join(f'fold{f} {m[key]:.4f}' for f, m in results.items())
                  + f'; mean {sum(values) / len(values):.4f}')
    return results


if __name__ == '__main__':
    run_cli(main)
