"""Write the most confident right and wrong predictions as images, overall
and per class.

    python tools/analysis_tools/analyze_results.py CONFIG results.pkl --out-dir DIR \\
        [--topk 20] [-r RESCALE_FACTOR] [--cfg-options KEY=VALUE ...]

``results.pkl`` comes from ``tools/test.py CONFIG CKPT --out results.pkl``.
``DIR/success`` gets the ``topk`` correct predictions with the highest scores,
``DIR/fail`` the ``topk`` wrong ones with the highest scores (the model's worst
mistakes), as mmpretrain lays them out; ``DIR/by_class/<class>/success`` and
``.../fail`` do the same among the images of each true class (the best and
worst images of that class).  Each image has its predicted and true class
drawn on it; ``success.json`` / ``fail.json`` in each folder list them.
(mmpretrain's tool says it keeps the highest scores but sorts ascending; this
one does what it says.)
"""
import argparse
import json
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Draw the best and worst predictions')
    parser.add_argument('config', help='test config file path (for the class names)')
    parser.add_argument('result', help='results.pkl of tools/test.py --out')
    parser.add_argument('--out-dir', required=True, help='where to write the images')
    parser.add_argument('--topk', type=int, default=20, help='images per folder')
    parser.add_argument('-r', '--rescale-factor', type=float,
                        help='scale the images by this factor before drawing')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def split_results(results, topk, rows=None):
    """``(success, fail)`` row indices (among ``rows``, default all), each by
    descending top score."""
    import numpy as np
    rows = np.arange(len(results.rows)) if rows is None else np.asarray(rows)
    top = results.pred_scores[rows].max(1)
    order = rows[np.argsort(-top, kind='stable')]
    right = results.pred_labels[order] == results.gt_labels[order]
    return order[right][:topk].tolist(), order[~right][:topk].tolist()


def folder_name(name):
    """A class name as a folder name (no path separators)."""
    return re.sub(r'[\\/:*?"<>|]+', '_', name).strip(' .') or '_'


def write_folder(folder, kind, indices, results, classes, args):
    """Draw the rows ``indices`` into ``folder`` and list them in ``<kind>.json``."""
    import cv2
    from mmcls_ms.visualization import UniversalVisualizer
    os.makedirs(folder, exist_ok=True)
    listing = []
    for i in indices:
        row = results.rows[i]
        path = row.get('img_path')
        image = cv2.imread(path, cv2.IMREAD_COLOR) if path else None
        if image is None:
            raise FileNotFoundError(f'{args.result}: sample {row.get("sample_idx")} names '
                                    f'the image {path!r}, which cannot be read; run the '
                                    'tool where the test images are.')
        if args.rescale_factor:
            image = cv2.resize(image, None, fx=args.rescale_factor, fy=args.rescale_factor)
        pred, gt = int(results.pred_labels[i]), int(results.gt_labels[i])
        score = float(results.pred_scores[i, pred])
        canvas = UniversalVisualizer.draw_cls(image, [(classes[pred], score)],
                                              ground_truth=classes[gt])
        name = f'{int(row.get("sample_idx", i)):06d}_{osp.splitext(osp.basename(path))[0]}'
        cv2.imwrite(osp.join(folder, name + '.png'), canvas)
        listing.append(dict(sample_idx=int(row.get('sample_idx', i)), img_path=path,
                            gt_label=gt, gt_class=classes[gt], pred_label=pred,
                            pred_class=classes[pred], pred_score=score))
    with open(osp.join(folder, f'{kind}.json'), 'w') as f:
        json.dump(listing, f, indent=1)
    return len(listing)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from tools.analysis_tools.confusion_matrix import class_names
    from mmcls_ms.evaluation import load_results
    from mmcls_ms.utils.config import load_config
    from mmcls_ms.utils.output_path import check_output_dir
    if args.topk < 1:
        raise ValueError(f'--topk must be positive, got {args.topk}.')
    if args.rescale_factor is not None and args.rescale_factor <= 0:
        raise ValueError(f'--rescale-factor must be positive, got {args.rescale_factor}.')
    check_output_dir(args.out_dir, '--out-dir')
    cfg = load_config(args.config, args.cfg_options)
    results = load_results(args.result)
    classes = class_names(cfg, results.pred_scores.shape[1])
    for kind, indices in zip(('success', 'fail'), split_results(results, args.topk)):
        folder = osp.join(args.out_dir, kind)
        count = write_folder(folder, kind, indices, results, classes, args)
        print(f'{kind}: {count} images in {folder}')
    folders = {}
    for label in np.unique(results.gt_labels):
        rows = np.flatnonzero(results.gt_labels == label)
        name = folder_name(classes[int(label)])
        if folders.setdefault(name, int(label)) != int(label):
            name = f'{name}_{int(label)}'  # two class names that read alike as folders
        for kind, indices in zip(('success', 'fail'), split_results(results, args.topk, rows)):
            write_folder(osp.join(args.out_dir, 'by_class', name, kind), kind, indices,
                         results, classes, args)
    print(f'by class: the best and worst {args.topk} images of each of '
          f'{len(np.unique(results.gt_labels))} classes in {osp.join(args.out_dir, "by_class")}')


if __name__ == '__main__':
    run_cli(main)
