"""Plot training curves or summarise iteration time from a run's JSON scalars.

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/vgg11bn-gap_1xb32_digits/20261125_101010/vis_data/scalars.json \
        --keys loss accuracy/top1 --out curve.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json

``LOG.json`` is the ``scalars.json`` that LocalVisBackend writes (one JSON
object per line; training lines have ``loss``/``lr``/``iter``, validation lines
have the metrics and ``step`` = epoch).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def load_records(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Log not found: {path} (look for '
                                '<work_dir>/<timestamp>/vis_data/scalars.json)')
    records = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise ValueError(f'{path}:{lineno} is not a JSON line') from None
    return records


def series(records, key):
    """(x, y) for ``key``: training keys against iteration, others against step."""
    points = [(r.get('iter', r.get('step')), r[key]) for r in records if key in r]
    if not points:
        known = sorted({k for r in records for k in r} - {'step', 'iter', 'epoch'})
        raise KeyError(f'{key!r} is not in the log; available keys: {", ".join(known)}')
    return [p[0] for p in points], [p[1] for p in points]


def plot_curve(args):
    from mmcls_ms.utils.output_path import check_output_file
    if args.out:
        check_output_file(args.out, '--out', writer='matplotlib')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(args.keys), 1, figsize=(7, 3 * len(args.keys)), squeeze=False)
    for log in args.json_logs:
        records = load_records(log)
        for ax, key in zip(axes[:, 0], args.keys):
            x, y = series(records, key)
            run_name = osp.basename(osp.dirname(osp.dirname(osp.dirname(osp.abspath(log)))))
            label = f'{run_name}: {key}'
            ax.plot(x, y, marker='o' if len(x) < 30 else None, label=label)
            training = any('loss' in r and key in r for r in records)
            ax.set_xlabel('iteration' if training else 'epoch')
            ax.set_ylabel(key)
            ax.grid(alpha=0.3)
            ax.legend(fontsize='small')
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    if args.out:
        fig.savefig(args.out, dpi=100)
        print(f'Saved the curve to {args.out}')
    else:
        plt.show()


def cal_train_time(args):
    for log in args.json_logs:
        times = [r['time'] for r in load_records(log) if 'time' in r]
        if not times:
            raise KeyError(f'{log} has no iteration times')
        times = sorted(times)
        print(f'{log}: {len(times)} logged intervals, average iteration time '
              f'{sum(times) / len(times):.4f} s, slowest {times[-1]:.4f} s, fastest '
              f'{times[0]:.4f} s')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyze training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars against iterations / epochs')
    plot.add_argument('json_logs', nargs='+')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--title')
    plot.add_argument('--out', help='save the figure here (PNG, PDF, ...)')
    timing = sub.add_parser('cal_train_time', help='summarise the iteration time')
    timing.add_argument('json_logs', nargs='+')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    {'plot_curve': plot_curve, 'cal_train_time': cal_train_time}[args.task](args)


if __name__ == '__main__':
    run_cli(main)
