"""What the peer runners share: the workloads, the command line and the report.

The timing is mmcls_ms's own (``mmcls_ms/utils/benchmark.py``), loaded by its
file path: a peer's process must not import ``mmcls_ms``, which would set
oneDNN's ISA cap for the peer's framework as well.
"""
import argparse
import importlib.util
import json
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = {'inception_v3': 299, 'vgg16': 224}
DEFAULT_BATCH = {'infer': 16, 'train': 8}


def _timing_module():
    path = osp.join(REPO, 'mmcls_ms', 'utils', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('mmcls_ms_benchmark_timing', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(modes, extra=None):
    """The runners' command line: --model, --task, --mode (one of ``modes``),
    --batch, --warmup, --steps, and whatever ``extra(parser)`` adds."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', choices=sorted(SIZE), required=True)
    parser.add_argument('--task', choices=('infer', 'train'), required=True)
    parser.add_argument('--mode', choices=modes, default=modes[0])
    parser.add_argument('--batch', type=int, default=None)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--steps', type=int, default=5)
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.batch = args.batch or DEFAULT_BATCH[args.task]
    return parser, args


def time_and_report(run, args, **record):
    """Time ``run`` and print the record as one ``RESULT {json}`` line."""
    timing = _timing_module().time_steps(run, args.batch, args.warmup, args.steps)
    timing.pop('output')
    record.update(model=args.model, task=args.task, mode=args.mode, **timing)
    print('RESULT ' + json.dumps(record), flush=True)
