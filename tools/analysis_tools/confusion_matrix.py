"""Plot the confusion matrix of a model on the config's test set.

    python tools/analysis_tools/confusion_matrix.py CONFIG CHECKPOINT_OR_PKL \\
        [--out matrix.pkl] [--show] [--show-path matrix.png] [--include-values] \\
        [--cmap viridis] [--cfg-options KEY=VALUE ...]

A checkpoint (``.ckpt``, ``.safetensors``, ``.pth``) runs the test set; a
``.pkl`` from ``tools/test.py --out`` is evaluated offline.  Rows are the true
classes, columns the predicted ones (the arg-max of the scores).
"""
import argparse
import os
import os.path as osp
import pickle
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Confusion matrix of a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('ckpt_or_result', help='a checkpoint, or results.pkl of tools/test.py')
    parser.add_argument('--out', help='pickle the matrix (a numpy int64 array) here')
    parser.add_argument('--show', action='store_true', help='show the plot in a window')
    parser.add_argument('--show-path', help='write the plot to this image file')
    parser.add_argument('--include-values', action='store_true',
                        help='write the count into every cell')
    parser.add_argument('--cmap', default='viridis', help='matplotlib colour map')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def class_names(cfg, num_classes):
    """The test dataset's class names, else the dataset type's, else indices."""
    from mmcls_ms.apis.model import classes_of_dataset_type
    dataset_cfg = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    classes = dataset_cfg.get('classes') or classes_of_dataset_type(dataset_cfg.get('type'))
    if classes is None or len(classes) != num_classes:
        return [str(i) for i in range(num_classes)]
    return [str(c) for c in classes]


def plot(matrix, classes, include_values=False, cmap='viridis'):
    """A matplotlib figure: true classes down, predicted classes across."""
    import matplotlib.pyplot as plt
    n = len(classes)
    size = max(6, min(20, 0.5 * n + 3))
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap=cmap, interpolation='nearest')
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
           xlabel='Predicted label', ylabel='True label', title='Confusion matrix')
    ax.xaxis.set_label_position('top')
    ax.xaxis.tick_top()
    plt.setp(ax.get_xticklabels(), rotation=45, ha='left', rotation_mode='anchor')
    if include_values:
        threshold = (matrix.max() + matrix.min()) / 2
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(matrix[i, j])), ha='center', va='center',
                        color='black' if matrix[i, j] > threshold else 'white')
    fig.tight_layout()
    return fig


def compute_matrix(args, cfg):
    from mmcls_ms.evaluation import ConfusionMatrix, load_results
    if args.ckpt_or_result.endswith(('.pkl', '.pickle')):
        results = load_results(args.ckpt_or_result)
        return ConfusionMatrix().compute(results.pred_scores, results.pred_labels,
                                         results.gt_labels)['result']
    if not osp.isfile(args.ckpt_or_result):
        raise FileNotFoundError(f'Checkpoint not found: {args.ckpt_or_result}')
    from mmcls_ms.engine import Runner
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    cfg.load_from = args.ckpt_or_result
    cfg.resume = False
    cfg.test_evaluator = dict(type='ConfusionMatrix')
    # the predictions of tools/test.py, which tests on the fast path by default
    cfg.test_cfg = dict(cfg.get('test_cfg') or {})
    cfg.test_cfg.setdefault('fast', True)
    # as mmpretrain: the run's log and files go to a folder deleted afterwards
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        return Runner.from_cfg(cfg).test()['confusion_matrix/result']


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    import numpy as np
    from mmcls_ms.utils.config import load_config
    from mmcls_ms.visualization import has_display
    if args.show and not has_display():
        raise ValueError('--show: no display to open a window on; use --show-path FILE.png.')
    if not args.show:
        matplotlib.use('Agg')
    from mmcls_ms.utils.output_path import check_output_file
    if args.show_path:
        check_output_file(args.show_path, '--show-path', writer='matplotlib')
    if args.cmap not in matplotlib.colormaps:
        raise ValueError(f'--cmap {args.cmap!r} is no matplotlib colour map; use e.g. viridis, '
                         'Blues or plasma.')
    cfg = load_config(args.config, args.cfg_options)
    matrix = np.asarray(compute_matrix(args, cfg))
    classes = class_names(cfg, matrix.shape[0])
    total = int(matrix.sum())
    print(f'{total} samples, {int(np.trace(matrix))} correct '
          f'({100 * np.trace(matrix) / max(total, 1):.2f}%), {len(classes)} classes')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'wb') as f:
            pickle.dump(matrix, f)
        print(f'Saved the matrix to {args.out}')
    if args.show or args.show_path:
        fig = plot(matrix, classes, args.include_values, args.cmap)
        if args.show_path:
            os.makedirs(osp.dirname(osp.abspath(args.show_path)), exist_ok=True)
            fig.savefig(args.show_path)
            print(f'Saved the plot to {args.show_path}')
        if args.show:
            import matplotlib.pyplot as plt
            plt.show()
    return matrix


if __name__ == '__main__':
    run_cli(main)
