"""Evaluate a checkpoint on the config's test set.

    python tools/test.py configs/vgg/vgg11bn-gap_1xb32_digits.py work_dirs/vgg11bn-gap_1xb32_digits/epoch_5.ckpt
    python tools/test.py CONFIG CKPT --out preds.json --out-item pred
    python tools/test.py CONFIG CKPT --out results.pkl     # mmpretrain's DumpResults
    python tools/test.py CONFIG CKPT --tta                 # flip test-time augmentation
    python tools/test.py CONFIG CKPT --show-dir vis/
    python tools/test.py CONFIG CKPT --show --wait-time 1     # a window per image
    python tools/test.py CONFIG CKPT --allow-partial-checkpoint   # evaluate a partial fit
"""
import argparse
import copy
import json
import os
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import non_negative_float, positive_int, run_cli  # noqa: E402
from mmcls_ms.utils.config import env_cfg_options, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation logs')
    parser.add_argument('--out', help='write the results here (.json or .pkl)')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        help="what --out holds: the metrics, or one prediction per sample "
                             "(default: pred for a .pkl file, as mmpretrain, else metrics)")
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, e.g. test_dataloader.batch_size=64')
    parser.add_argument('--show', action='store_true',
                        help='show each test image with its prediction in a window')
    parser.add_argument('--show-dir', help='write each test image with its prediction here')
    parser.add_argument('--interval', type=positive_int, default=1,
                        help='with --show or --show-dir: draw every n-th sample')
    parser.add_argument('--wait-time', type=non_negative_float, default=2,
                        help='with --show: seconds each image stays up (0: until a key)')
    parser.add_argument('--allow-partial-checkpoint', action='store_true',
                        help='evaluate even when the checkpoint leaves parameters of the model '
                             'missing or mis-shaped (they keep random weights); refused '
                             'otherwise')
    parser.add_argument('--no-fast', action='store_true',
                        help='test the model as built, without the inference fast path (BN '
                             'folded into the convolutions, the preprocessor as one '
                             'convolution; test_cfg.fast)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model and tta_pipeline "
                             '(default: the mean score of the image and its horizontal flip)')
    parser.add_argument('--launcher', choices=['none', 'msrun'], default='none',
                        help='job launcher (tools/dist_test.sh uses msrun)')
    return parser.parse_args(argv)


def predictions(runner):
    """One dict per sample, in dataset order."""
    scores, labels, gts, idx = runner.test_loop.evaluator.collected()
    dataset = runner.test_dataloader.dataset
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    rows = []
    for s, p, g, i in zip(scores, labels, gts, idx):
        info = dataset.get_data_info(int(i))
        row = dict(sample_idx=int(i), img_path=info.get('img_path'), gt_label=int(g),
                   pred_label=int(p), pred_score=float(s[p]), pred_scores=s.tolist())
        if classes:
            row['pred_class'] = classes[int(p)]
        rows.append(row)
    return rows


def dump_results(runner):
    """One dict per sample, in dataset order, as mmpretrain's ``DumpResults``
    pickles them (numpy arrays where mmpretrain has CPU tensors)."""
    import numpy as np
    rows = []
    for row in predictions(runner):
        scores = np.asarray(row.pop('pred_scores'), np.float32)
        row.pop('pred_class', None)
        row.update(gt_label=np.array([row['gt_label']]), pred_label=np.array([row['pred_label']]),
                   pred_score=scores, num_classes=len(scores))
        rows.append(row)
    return rows


def apply_tta(cfg):
    """mmpretrain's ``--tta``: the model becomes ``tta_model`` around the
    config's model, the test pipeline becomes ``tta_pipeline`` (default: the
    test pipeline whose last step, PackInputs, runs on the flipped and on the
    unflipped image)."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        cfg.tta_pipeline = copy.deepcopy(test_pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                        [copy.deepcopy(test_pipeline[-1])]])
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def set_visualization(cfg, args):
    """mmpretrain's ``--show`` / ``--show-dir``: the config's visualization hook,
    enabled, with the flags' ``show``, ``wait_time``, ``out_dir`` and ``interval``."""
    from mmcls_ms.visualization import has_display
    if args.show and not has_display():
        raise ValueError('--show: there is no display to open a window on (DISPLAY is '
                         'unset); use --show-dir DIR to write the drawn images instead.')
    if args.wait_time < 0:
        raise ValueError(f'--wait-time must be >= 0 seconds, got {args.wait_time}.')
    hooks = cfg.setdefault('default_hooks', {})
    hook = dict(hooks.get('visualization') or dict(type='VisualizationHook'))
    hook.update(enable=True, show=args.show, wait_time=args.wait_time,
                out_dir=args.show_dir, interval=args.interval)
    hooks['visualization'] = hook


def write_out(path, obj):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if path.endswith(('.pkl', '.pickle')):
        with open(path, 'wb') as f:
            pickle.dump(obj, f)
    else:
        with open(path, 'w') as f:
            json.dump(obj, f, indent=1)


def print_table(metrics):
    from rich.table import Table
    from mmcls_ms.utils.logging import console
    table = Table(title='Test results')
    table.add_column('metric')
    table.add_column('value', justify='right')
    for key, value in metrics.items():
        if hasattr(value, 'ndim') and value.ndim > 0:
            continue
        table.add_row(key, f'{float(value):.4f}')
    console.print(table)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options + env_cfg_options())
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint) and not args.checkpoint.startswith(('http://',
                                                                            'https://')):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.launcher = args.launcher
    cfg.test_cfg = dict(cfg.get('test_cfg') or {})
    cfg.test_cfg.setdefault('fast', True)  # same scores within 1e-4, fewer kernels
    if args.no_fast:
        cfg.test_cfg['fast'] = False
    if args.tta:
        apply_tta(cfg)
    if args.show or args.show_dir:
        set_visualization(cfg, args)
    from mmcls_ms.engine import Runner
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.allow_partial_load = args.allow_partial_checkpoint
    metrics = runner.test()
    if runner.rank == 0:
        print_table(metrics)
        if args.out:
            is_pickle = args.out.endswith(('.pkl', '.pickle'))
            out_item = args.out_item or ('pred' if is_pickle else 'metrics')
            if out_item == 'pred':
                write_out(args.out, dump_results(runner) if is_pickle else predictions(runner))
            else:
                write_out(args.out, {k: (v.tolist() if hasattr(v, 'tolist') else v)
                                     for k, v in metrics.items()})
            runner.logger.info(f'Results written to {args.out}')
    return metrics


if __name__ == '__main__':
    run_cli(main)
