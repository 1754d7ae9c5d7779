"""Plot the learning rate (or momentum, weight decay) of every training
iteration from a config, without training (as mmpretrain's tool).

    python tools/visualization/vis_scheduler.py CONFIG [-p lr|momentum|wd] \\
        [-d DATASET_SIZE] [-n NGPUS] [-s SAVE_PATH] [--title TITLE] \\
        [--style whitegrid] [--not-show] [--window-size 12*7] [--cfg-options ...]

The schedulers of ``param_scheduler`` run as in training (see
:func:`mmcls_ms.engine.schedulers.scheduled_lrs`); an epoch lasts
``ceil(dataset_size / (batch_size * ngpus))`` iterations (floor with
``drop_last=True``), the dataset size coming from ``-d`` or from building the
training dataset.  mmcls_ms schedules the learning rate only, so momentum and
weight decay plot as the optimizer's constant values.
"""
import argparse
import math
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402

PARAMETERS = {'lr': 'Learning rate', 'momentum': 'Momentum', 'wd': 'Weight decay'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot a config\'s parameter schedule')
    parser.add_argument('config', help='config file path')
    parser.add_argument('-p', '--parameter', default='lr', choices=list(PARAMETERS),
                        help='the parameter to plot')
    parser.add_argument('-d', '--dataset-size', type=int,
                        help='training samples (default: build the training dataset)')
    parser.add_argument('-n', '--ngpus', type=int, default=1, help='devices in training')
    parser.add_argument('-s', '--save-path', help='write the plot to this image file')
    parser.add_argument('--title', help='plot title (default: the config name)')
    parser.add_argument('--style', default='whitegrid', help='matplotlib or seaborn style')
    parser.add_argument('--not-show', action='store_true', help='open no window')
    parser.add_argument('--window-size', default='12*7', help='figure size in inches, W*H')
    parser.add_argument('--log-level', default='WARNING', help='accepted for compatibility')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def _window_size(text: str):
    try:
        width, height = (float(v) for v in text.split('*'))
    except ValueError:
        raise ValueError(f'--window-size {text!r}: write it as WIDTH*HEIGHT in inches, '
                         'e.g. 12*7.') from None
    return width, height


def _style(name: str) -> str:
    import matplotlib.pyplot as plt
    for candidate in (name, f'seaborn-v0_8-{name}', f'seaborn-{name}'):
        if candidate in plt.style.available:
            return candidate
    raise ValueError(f'--style {name!r} is no matplotlib style; choose one of '
                     f'{sorted(plt.style.available)}.')


def _epoch_length(cfg, dataset_size, ngpus: int) -> int:
    loader = cfg.get('train_dataloader')
    if not loader or 'batch_size' not in loader:
        raise KeyError('The config has no train_dataloader.batch_size: the length of an '
                       'epoch is unknown.')
    if dataset_size is None:
        from mmcls_ms.registry import DATASETS
        dataset_size = len(DATASETS.build(loader['dataset']))
    if dataset_size < 1 or ngpus < 1:
        raise ValueError(f'--dataset-size ({dataset_size}) and --ngpus ({ngpus}) must be '
                         'positive.')
    batch = loader['batch_size'] * ngpus
    length = dataset_size // batch if loader.get('drop_last') else math.ceil(dataset_size / batch)
    if length < 1:
        raise ValueError(f'{dataset_size} samples make no batch of {batch} with drop_last: '
                         'the epoch is empty.')
    return length


def schedule(cfg, parameter: str, epoch_length: int, ngpus: int = 1):
    """``(values per iteration, by_epoch)`` of ``parameter`` for a config."""
    from mmcls_ms.engine.schedulers import scheduled_lrs
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer')
    if not optimizer or 'lr' not in optimizer:
        raise KeyError('The config has no optim_wrapper.optimizer.lr to schedule.')
    train_cfg = dict(cfg.get('train_cfg') or {})
    by_epoch = train_cfg.get('by_epoch', train_cfg.get('type') != 'IterBasedTrainLoop')
    if parameter == 'lr':
        base_lr = float(optimizer['lr'])
        scale = cfg.get('auto_scale_lr') or {}
        if scale.get('enable'):
            # as the runner does with --auto-scale-lr
            base_lr *= cfg.train_dataloader.batch_size * ngpus / scale['base_batch_size']
        values = scheduled_lrs(cfg.get('param_scheduler'), base_lr, epoch_length,
                               max_epochs=train_cfg.get('max_epochs'),
                               max_iters=train_cfg.get('max_iters'), by_epoch=by_epoch)
        return values, by_epoch
    total = (train_cfg.get('max_epochs', 0) * epoch_length if by_epoch
             else train_cfg.get('max_iters', 0))
    if parameter == 'momentum':
        value = optimizer.get('momentum', (optimizer.get('betas') or (None,))[0])
    else:
        value = optimizer.get('weight_decay', 0.0)
    if value is None:
        raise KeyError(f"optimizer {optimizer.get('type')!r} has no momentum (nor betas) to plot.")
    return [float(value)] * total, by_epoch


def plot(values, by_epoch: bool, epoch_length: int, parameter: str, title: str,
         style: str = 'whitegrid', window_size=(12, 7)):
    """A matplotlib figure of ``values`` per iteration (an epoch axis on top
    when training is by epoch)."""
    import matplotlib.pyplot as plt
    with plt.style.context(_style(style)):
        fig, ax = plt.subplots(figsize=window_size)
        ax.plot(range(len(values)), values, linewidth=1.5)
        ax.set_xlabel('Iterations')
        ax.set_ylabel(PARAMETERS[parameter])
        ax.set_xlim(0, max(1, len(values) - 1))
        if by_epoch:
            top = ax.secondary_xaxis('top', functions=(lambda x: x / epoch_length,
                                                       lambda x: x * epoch_length))
            top.set_xlabel('Epochs')
        ax.set_title(title)
        fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    from mmcls_ms.utils.config import load_config
    from mmcls_ms.utils.output_path import check_output_file
    from mmcls_ms.visualization import has_display
    window_size = _window_size(args.window_size)
    if args.save_path:
        check_output_file(args.save_path, '--save-path', writer='matplotlib')
    display = has_display()
    if not args.not_show and not display and not args.save_path:
        raise ValueError('No display to show the plot on: pass --save-path FILE.png '
                         '(and --not-show).')
    if args.not_show or not display:
        matplotlib.use('Agg')
    cfg = load_config(args.config, args.cfg_options)
    epoch_length = _epoch_length(cfg, args.dataset_size, args.ngpus)
    values, by_epoch = schedule(cfg, args.parameter, epoch_length, args.ngpus)
    title = args.title or osp.splitext(osp.basename(args.config))[0]
    fig = plot(values, by_epoch, epoch_length, args.parameter, title, args.style, window_size)
    print(f'{PARAMETERS[args.parameter]}: {len(values)} iterations '
          f'({epoch_length} per epoch), from {values[0]:.6g} to {values[-1]:.6g} '
          f'(max {max(values):.6g})')
    if args.save_path:
        os.makedirs(osp.dirname(osp.abspath(args.save_path)), exist_ok=True)
        fig.savefig(args.save_path)
        print(f'Saved the plot to {args.save_path}')
    if not args.not_show and display:
        import matplotlib.pyplot as plt
        plt.show()
    return fig


if __name__ == '__main__':
    run_cli(main)
