"""Where the time of one mmcls_ms step goes: MindSpore's op profiler, by op type.

    python benchmarks/profile_step.py configs/inception_v3/inception-v3_8xb32_in1k.py \\
        --task train --batch-size 8 --cfg-options model.backbone.aux_logits=True \\
        model.head.aux_loss_weight=0.4

Runs two warm-up steps, profiles ``--steps`` steps with ``mindspore.profiler.Profiler``
and prints the share of each op type (Conv2D, Conv2DBackpropFilter, BatchNorm,
IsFinite, ...) with its time per step.  ``--onednn-verbose`` additionally
writes oneDNN's per-primitive log (implementation, layout, time) to
``<out>/onednn_verbose.txt``; summarise it with
``benchmarks/onednn_verbose_summary.py``.
"""
import argparse
import csv
import glob
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Profile one mmcls_ms step by op type')
    parser.add_argument('config')
    parser.add_argument('--task', choices=('infer', 'train'), default='train')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--fast', action='store_true', help='infer: the inference fast path')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    parser.add_argument('--out', default=osp.join(REPO, 'work_dirs', 'profile'))
    parser.add_argument('--onednn-verbose', action='store_true')
    parser.add_argument('--top', type=int, default=20)
    return parser.parse_args(argv)


def profile(args):
    sys.path.insert(0, REPO)
    import mmcls_ms  # noqa: F401
    import numpy as np
    import mindspore as ms
    from mindspore.profiler import Profiler

    from mmcls_ms.apis import get_model
    from mmcls_ms.deployment.exporter import input_size_from_config
    from mmcls_ms.utils.config import load_config
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    from benchmark import build_step

    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = load_config(args.config, args.cfg_options)
    height, width = input_size_from_config(cfg)
    model = get_model(cfg)
    if args.fast:
        from mmcls_ms.deployment import optimize_for_inference
        model.set_train(False)
        optimize_for_inference(model)
    rng = np.random.default_rng(0)
    inputs = ms.Tensor(rng.integers(0, 256, (args.batch_size, 3, height, width),
                                    dtype=np.uint8))
    labels = ms.Tensor(rng.integers(0, 10, (args.batch_size,)).astype(np.int32))
    run = build_step(model, cfg, args.task, False)
    for _ in range(2):
        run(inputs, labels)
    profiler = Profiler(output_path=args.out)
    for _ in range(args.steps):
        run(inputs, labels)
    profiler.stop()
    profiler.analyse()


def report(out, steps, top):
    files = sorted(glob.glob(osp.join(out, '*', 'FRAMEWORK', 'cpu_op_type_info_*.csv')),
                   key=os.path.getmtime)
    if not files:
        raise SystemExit(f'no cpu_op_type_info csv under {out}: did the profiler run?')
    rows = list(csv.DictReader(open(files[-1])))
    total = sum(float(r['total_compute_time']) for r in rows)
    rows.sort(key=lambda r: -float(r['total_compute_time']))
    print(f'{"op type":28s} {"ms/step":>9s} {"share":>7s} {"calls/step":>10s}')
    for r in rows[:top]:
        t = float(r['total_compute_time'])
        print(f"{r['op_type']:28s} {t / steps:9.1f} {100 * t / total:6.1f}% "
              f"{r['execution_frequency(per-step)']:>10s}")
    print(f'{"all ops":28s} {total / steps:9.1f}')


def main(argv=None):
    args = parse_args(argv)
    if os.environ.get('_MMCLS_PROFILE_CHILD'):
        profile(args)
        sys.stdout.flush()
        os._exit(0)
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, _MMCLS_PROFILE_CHILD='1')
    log = None
    if args.onednn_verbose:
        env['ONEDNN_VERBOSE'] = '1'
        log = open(osp.join(args.out, 'onednn_verbose.txt'), 'w')
    proc = subprocess.run([sys.executable] + sys.argv, env=env, stdout=log,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'profiling failed:\n{proc.stderr[-2000:]}')
    report(args.out, args.steps, args.top)


if __name__ == '__main__':
    main()
