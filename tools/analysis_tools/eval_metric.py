"""Evaluate metrics offline from the predictions of ``tools/test.py --out``.

    python tools/analysis_tools/eval_metric.py results.pkl \\
        --metric type=Accuracy topk=1,5 [--metric type=SingleLabelMetric items=precision,recall]

One ``--metric`` per metric (mmpretrain's syntax: KEY=VALUE words, ``type``
naming a metric of mmcls_ms.evaluation); the values are printed, nothing is
written.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate metrics from a results pickle')
    parser.add_argument('pkl_results', help='results of tools/test.py --out results.pkl')
    parser.add_argument('--metric', nargs='+', action='append', required=True,
                        metavar='KEY=VALUE', help='a metric config, e.g. type=Accuracy topk=1,5')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from rich.table import Table
    from mmcls_ms.evaluation import load_results
    from mmcls_ms.registry import METRICS
    from mmcls_ms.utils.config import ConfigOverrideError, parse_cfg_options
    from mmcls_ms.utils.logging import console
    results = load_results(args.pkl_results)
    metrics = {}
    for words in args.metric:
        try:
            cfg = parse_cfg_options(words)
        except ConfigOverrideError:
            raise ValueError(f'--metric {" ".join(words)}: write the metric config as KEY=VALUE '
                             'words, e.g. --metric type=Accuracy topk=1,5') from None
        if 'type' not in cfg:
            raise ValueError(f'--metric {" ".join(words)}: name the metric with type=..., '
                             'e.g. --metric type=Accuracy topk=1,5')
        metric = METRICS.build(cfg)
        metrics.update(metric.evaluate(results.pred_scores, results.pred_labels,
                                       results.gt_labels))
    table = Table(title=f'Metrics of {len(results.rows)} predictions')
    table.add_column('metric')
    table.add_column('value', justify='right')
    for key, value in metrics.items():
        table.add_row(key, f'{value:.4f}' if isinstance(value, float) else str(value))
    console.print(table)
    return metrics


if __name__ == '__main__':
    run_cli(main)
