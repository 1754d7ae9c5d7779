"""Throughput of a config's model: inference or the real training step.

    python tools/analysis_tools/benchmark.py configs/inception_v3/inception-v3_8xb32_in1k.py
    python tools/analysis_tools/benchmark.py configs/vgg/vgg16_8xb32_in1k.py \\
        --task train --batch-size 8 --out work_dirs/bench_vgg16_train.json

What is timed (the same method as ``benchmarks/peers/*_runner.py``, so the
numbers compare with MindCV's and torchvision's):

- ``--task infer``: ``model(inputs)`` -> logits, in eval mode; batch 16.
- ``--task train``: the engine's compiled step, ``TrainStep(model,
  build_optimizer(model, cfg.optim_wrapper))``: forward, loss, gradients and
  the optimizer update; batch 8.  This is what ``tools/train.py`` runs.
- one first step (graph compile + run), ``--warmup`` untimed steps, then
  ``--steps`` timed steps; images/s is batch / median step time.  Every step
  ends with ``.asnumpy()``: on CPU ``synchronize()`` is a no-op, so that is
  the only way to time finished work.
- inputs are random uint8 images, as the data loader delivers them (the data
  preprocessor runs inside the graph); labels are random.

Reported: images/s (median, min, max), latency percentiles per batch, graph
compile time (first step minus the median step), peak resident memory of
the process (read before the FLOP count, which runs a PyNative forward on a
model of its own), and the achieved GFLOP/s (2 x multiply-adds of the forward,
x3 for a training step: forward + backward-data + backward-weights).

This is a measurement, not a test: numbers move with other load on the
machine; run one benchmark at a time.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
if __name__ == '__main__' and '--conv-backend' in sys.argv[:-1]:
    # the oneDNN ISA is chosen once per process, when mmcls_ms is imported
    os.environ['MMCLS_MS_CONV_BACKEND'] = sys.argv[sys.argv.index('--conv-backend') + 1]
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.ops.cpu_backend import current_decision  # noqa: E402
from mmcls_ms.utils.cli import non_negative_int, positive_int, run_cli  # noqa: E402
from mmcls_ms.deployment.exporter import input_size_from_config  # noqa: E402
from mmcls_ms.utils.benchmark import time_steps  # noqa: E402
from mmcls_ms.utils.config import load_config  # noqa: E402

DEFAULT_BATCH = {'infer': 16, 'train': 8}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a model: images/s, latency, '
                                                 'compile time, peak memory')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--checkpoint', default=None, help='weights to load (default random)')
    parser.add_argument('--batch-size', type=positive_int, default=None,
                        help='default 16 for infer, 8 for train')
    parser.add_argument('--task', choices=('infer', 'train'), default='infer')
    parser.add_argument('--mode', choices=('graph', 'pynative'), default='graph')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (auto_mixed_precision O2, float16; on CPU '
                             'MindSpore has few fast half kernels, so expect it to be slower)')
    parser.add_argument('--shape', type=positive_int, nargs='+', default=None,
                        help='input H W (or one size); default: the crop size of the '
                             "config's test pipeline, else 224")
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='infer only: fold eval BN into the convolutions first '
                             '(mmcls_ms.deployment.fuse_conv_bn)')
    parser.add_argument('--fast', action='store_true',
                        help='infer only: the inference fast path (BN folded, preprocessor '
                             'as one 1x1 conv; mmcls_ms.deployment.optimize_for_inference)')
    parser.add_argument('--warmup', type=non_negative_int, default=2,
                        help='untimed steps after the first')
    parser.add_argument('--steps', type=positive_int, default=5, help='timed steps')
    parser.add_argument('--jit-level', choices=('O0', 'O1', 'O2'), default=None,
                        help="graph optimisation level (default: env_cfg.jit_level, else "
                             "MindSpore's)")
    parser.add_argument('--conv-backend', choices=('mindspore', 'onednn'), default=None,
                        help="who runs the convolutions (default: $MMCLS_MS_CONV_BACKEND, else "
                             "auto); onednn: the oneDNN kernels of mmcls_ms.ops")
    parser.add_argument('--threads', type=non_negative_int, default=0,
                        help="MindSpore CPU kernel threads (0: MindSpore's default)")
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, e.g. model.backbone.aux_logits=True')
    parser.add_argument('--out', default=None, help='write the result as JSON to this file')
    parser.add_argument('--no-table', action='store_true', help='print only the JSON line')
    return parser.parse_args(argv)


def _shape(args, cfg):
    if args.shape is None:
        return input_size_from_config(cfg)
    if len(args.shape) == 1:
        return args.shape[0], args.shape[0]
    if len(args.shape) == 2:
        return tuple(args.shape)
    raise ValueError(f'--shape takes H W or one size, got {args.shape}')


def forward_gflop(model, height, width) -> float:
    """GFLOP (2 x multiply-adds) of one image's forward, mmcv's counting rules."""
    import mindspore as ms
    from mmcls_ms.models.utils.complexity import count_complexity
    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        report = count_complexity(model, (1, 3, height, width))
    finally:
        ms.set_context(mode=mode)
    macs = sum(layer.flops for layer in report.layers)
    return 2.0 * macs / 1e9


def build_step(model, cfg, task, amp):
    """A callable running one step and returning a numpy array; a training step's
    ``optimizer`` attribute names its optimizer (e.g. ``'SGD, fused'``)."""
    import numpy as np
    import mindspore as ms
    return _build_step(model, cfg, task, amp, np, ms)


def _build_step(model, cfg, task, amp, np, ms):
    if amp:
        from mmcls_ms.ops.backend import check_float32_only
        check_float32_only(model, '--amp')
        ms.amp.auto_mixed_precision(model, 'O2', dtype=ms.float16)
    if task == 'infer':
        model.set_train(False)

        def run(inputs, labels):
            del labels
            out = model(inputs)
            # a copy: a held asnumpy() view keeps the graph's output memory from being
            # reused by the next step (+184 MiB peak for InceptionV3 training)
            return (out[-1] if isinstance(out, (tuple, list)) else out).asnumpy().copy()
        return run
    from mmcls_ms.engine.optimizers import build_optimizer
    from mmcls_ms.engine.runner.train_step import TrainStep
    if not cfg.get('optim_wrapper'):
        raise KeyError('--task train needs `optim_wrapper` in the config (e.g. '
                       "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)))")
    wrapper = dict(cfg.optim_wrapper)
    model.set_train(True)
    optimizer = build_optimizer(model, wrapper)
    step = TrainStep(model, optimizer, max_norm=(wrapper.get('clip_grad') or {}).get('max_norm'),
                     loss_scale=1024.0 if amp else 1.0, dynamic_scale=amp)
    step.set_train(True)

    def run(inputs, labels):
        loss, _ = step(inputs, labels)
        return loss.asnumpy().copy()
    run.optimizer = type(optimizer).__name__ + (', fused' if getattr(optimizer, 'fused', False)
                                                else '')
    return run


def measure(args):
    """Run the benchmark; returns the result dict."""
    cfg = load_config(args.config, args.cfg_options)
    task = args.task
    batch = args.batch_size or DEFAULT_BATCH[task]
    if batch < 1 or args.steps < 1 or args.warmup < 0:
        raise ValueError('--batch-size and --steps must be >= 1, --warmup >= 0')
    height, width = _shape(args, cfg)

    import numpy as np
    import mindspore as ms
    from rich.progress import Progress

    from mmcls_ms.apis import get_model

    ms.set_context(mode=ms.GRAPH_MODE if args.mode == 'graph' else ms.PYNATIVE_MODE)
    jit_level = args.jit_level or (cfg.get('env_cfg') or {}).get('jit_level')
    if jit_level:
        ms.set_context(jit_config={'jit_level': jit_level})
    if args.threads > 0:
        ms.device_context.cpu.op_tuning.threads_num(args.threads)
    ms.set_seed(0)

    start = time.perf_counter()
    model = get_model(cfg, pretrained=args.checkpoint or False)
    build_s = time.perf_counter() - start
    num_classes = _num_classes(cfg)

    rng = np.random.default_rng(0)
    inputs = ms.Tensor(rng.integers(0, 256, (batch, 3, height, width), dtype=np.uint8))
    labels = ms.Tensor(rng.integers(0, max(num_classes, 1), (batch,)).astype(np.int32))
    fused, fast_path = 0, []
    if (args.fuse_conv_bn or args.fast) and task != 'infer':
        raise ValueError('--fuse-conv-bn and --fast are for --task infer (BN cannot be folded '
                         'while training)')
    if args.fast:
        from mmcls_ms.deployment import optimize_for_inference
        model.set_train(False)
        fast_path = optimize_for_inference(model)
    elif args.fuse_conv_bn:
        from mmcls_ms.deployment import fuse_conv_bn
        model.set_train(False)
        fused = fuse_conv_bn(model)
    run = build_step(model, cfg, task, args.amp)

    show = not args.no_table
    with Progress(transient=True, disable=not show) as progress:
        bars = dict(first=progress.add_task(f'first step (compile) + {args.warmup} warm-up',
                                            total=1 + args.warmup),
                    timed=progress.add_task(f'{args.steps} timed steps', total=args.steps))
        timing = time_steps(lambda: run(inputs, labels), batch, args.warmup, args.steps,
                            on_step=lambda stage: progress.advance(
                                bars['timed' if stage == 'timed' else 'first']))
    out = timing.pop('output')
    # counted afterwards, on a model of its own: the count runs a PyNative forward,
    # whose memory would otherwise add to the peak (~50-75 MiB for InceptionV3)
    gflop = forward_gflop(get_model(cfg, pretrained=False), height, width)
    flop_per_image = gflop * (3.0 if task == 'train' else 1.0)
    return dict(
        impl='mmcls_ms', framework='mindspore', framework_version=ms.__version__,
        config=args.config, cfg_options=list(args.cfg_options), task=task, mode=args.mode,
        jit_level=jit_level or 'default', amp=bool(args.amp), fused_conv_bn=fused,
        fast_path=fast_path, optimizer=getattr(run, 'optimizer', None),
        shape=[height, width], threads_setting=args.threads or 'mindspore-default',
        onednn_max_cpu_isa=os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset'),
        conv_backend=current_decision().conv_backend,
        checkpoint=args.checkpoint, build_s=round(build_s, 3), **timing,
        forward_gflop_per_image=round(gflop, 3),
        achieved_gflop_per_s=round(flop_per_image * batch / timing['median_step_s'], 1),
        output_finite=bool(np.isfinite(np.asarray(out, np.float64)).all()),
        load_avg=[round(x, 2) for x in os.getloadavg()], cpu_count=os.cpu_count())


def _num_classes(cfg):
    model = cfg.model
    for part in ('head', 'backbone'):
        sub = model.get(part) or {}
        if sub.get('num_classes', 0) and sub.get('num_classes', 0) > 0:
            return sub['num_classes']
    return 1000


def print_table(result):
    from rich.console import Console
    from rich.table import Table
    table = Table(title=f"{osp.basename(result['config'])}: {result['task']}, "
                        f"{result['mode']} mode, batch {result['batch']}, "
                        f"{result['shape'][0]}x{result['shape'][1]} "
                        f"(load {result['load_avg'][0]:.1f} on {result['cpu_count']} cores)")
    table.add_column('metric')
    table.add_column('value', justify='right')
    table.add_row('images/s (median)', f"{result['images_per_s']:.2f}")
    table.add_row('images/s (slowest - fastest step)',
                  f"{result['images_per_s_min']:.2f} - {result['images_per_s_max']:.2f}")
    lat = result['latency_ms']
    table.add_row('latency per batch p50 / p90 / p99 (ms)',
                  f"{lat['p50']:.0f} / {lat['p90']:.0f} / {lat['p99']:.0f}")
    table.add_row('graph compile (first step - median) (s)', f"{result['compile_est_s']:.2f}")
    table.add_row('peak memory (MiB)', f"{result['peak_rss_mib']:.0f}")
    table.add_row('achieved GFLOP/s', f"{result['achieved_gflop_per_s']:.1f}")
    table.add_row('forward GFLOP per image', f"{result['forward_gflop_per_image']:.2f}")
    Console().print(table)


def main(argv=None):
    args = parse_args(argv)
    active = current_decision().conv_backend
    if args.conv_backend and args.conv_backend != active:
        raise SystemExit(f'--conv-backend {args.conv_backend}: this process already runs '
                         f'convolutions with {active}; start it with '
                         f'MMCLS_MS_CONV_BACKEND={args.conv_backend}')
    result = measure(args)
    from mmcls_ms.ops.kernel_library import report_profile
    report_profile()  # MMCLS_MS_ONEDNN_PROFILE=1: where the convolutions' time went
    line = json.dumps(result)
    if not args.no_table:
        print_table(result)
    print(line, flush=True)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    run_cli(main)
