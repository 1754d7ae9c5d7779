"""Time a conv net under different oneDNN ISA caps, each in its own process.

    python benchmarks/onednn_isa.py
    python benchmarks/onednn_isa.py --model inception_v3 --size 299 \\
        --batch 1 --settings AVX2 DEFAULT

``ONEDNN_MAX_CPU_ISA`` is read once, when oneDNN first runs, so every setting
runs in a fresh subprocess: ``DEFAULT`` leaves oneDNN's own choice
(``MMCLS_MS_ONEDNN_ISA=keep``), anything else is passed as
``ONEDNN_MAX_CPU_ISA``.  For each setting it reports the ISA level and the
3x3-conv kernel oneDNN picks (from ``ONEDNN_VERBOSE=1`` on one probe conv),
and the time of a compiled forward pass and of a compiled training step
(forward + backward).  Timings move with other load on the machine: read the ratio.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELS = {
    # a small-input VGG: no classifier, global pooling, linear head
    'vgg11bn': dict(type='ImageClassifier',
                    backbone=dict(type='VGG', depth=11, num_classes=-1, norm_cfg=dict(type='BN')),
                    neck=dict(type='GlobalAveragePooling'),
                    head=dict(type='LinearClsHead', num_classes=10, in_channels=512)),
    'inception_v3': dict(type='ImageClassifier',
                         backbone=dict(type='InceptionV3', num_classes=-1),
                         neck=dict(type='GlobalAveragePooling'),
                         head=dict(type='LinearClsHead', num_classes=10, in_channels=2048)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark oneDNN ISA caps on a conv net')
    parser.add_argument('--model', choices=sorted(MODELS), default='vgg11bn')
    parser.add_argument('--size', type=int, default=32, help='input height and width')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3, help='timed iterations per setting')
    parser.add_argument('--settings', nargs='+', default=['AVX2', 'DEFAULT'],
                        help="ONEDNN_MAX_CPU_ISA values; 'DEFAULT' = oneDNN's own choice")
    parser.add_argument('--worker', choices=['probe', 'time'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _probe():
    """One 3x3 conv forward + backward-data (run with ONEDNN_VERBOSE=1)."""
    import numpy as np
    import mindspore as ms
    from mindspore import nn
    conv = nn.Conv2d(16, 16, 3, pad_mode='pad', padding=1)
    x = ms.Tensor(np.ones((1, 16, 8, 8), np.float32))

    def summed(inputs):
        return conv(inputs).sum()

    ms.grad(summed)(x).asnumpy()


def _time(args):
    import numpy as np
    import mindspore as ms
    from mindspore import nn

    from mmcls_ms.registry import MODELS as REGISTRY
    from mmcls_ms.utils.benchmark import time_steps
    ms.set_seed(0)
    model = REGISTRY.build(MODELS[args.model])
    x = ms.Tensor(np.random.default_rng(0).integers(
        0, 256, (args.batch, 3, args.size, args.size), dtype=np.uint8))
    labels = ms.Tensor(np.zeros(args.batch, np.int32))
    optimizer = nn.SGD(model.trainable_params(), learning_rate=0.0)

    def loss_fn(inputs, targets):
        return model.loss(inputs, targets)

    grad_fn = ms.value_and_grad(loss_fn, None, optimizer.parameters)

    @ms.jit
    def forward(inputs):
        return model(inputs)

    @ms.jit
    def train_step(inputs, targets):
        loss, grads = grad_fn(inputs, targets)
        optimizer(grads)
        return loss

    def median_step(fn, *fn_args):
        # the untimed first step compiles; asnumpy waits for the result
        return time_steps(lambda: fn(*fn_args).asnumpy(), args.batch, warmup=0,
                          steps=args.iters)['median_step_s']

    model.set_train(False)
    forward_s = median_step(forward, x)
    model.set_train(True)
    train_s = median_step(train_step, x, labels)
    print(json.dumps(dict(forward_s=forward_s, train_s=train_s)))


def _env_for(setting, verbose=False):
    env = dict(os.environ)
    env.pop('ONEDNN_MAX_CPU_ISA', None)
    if setting.upper() == 'DEFAULT':
        env['MMCLS_MS_ONEDNN_ISA'] = 'keep'
    else:
        env['ONEDNN_MAX_CPU_ISA'] = setting.upper()
    if verbose:
        env['ONEDNN_VERBOSE'] = '1'
    else:
        env.pop('ONEDNN_VERBOSE', None)
    return env


def _run_worker(kind, setting, args, verbose=False):
    cmd = [sys.executable, osp.abspath(__file__), '--worker', kind, '--model', args.model,
           '--size', str(args.size), '--batch', str(args.batch), '--iters', str(args.iters)]
    result = subprocess.run(cmd, env=_env_for(setting, verbose), cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f'{kind} worker for {setting} failed:\n{result.stderr[-2000:]}')
    return result.stdout


def parse_verbose(text):
    """(oneDNN ISA description, sorted conv kernels) from ONEDNN_VERBOSE output."""
    isa, kernels = '', set()
    for line in text.splitlines():
        fields = line.split(',')
        if 'isa:' in line and not isa:
            isa = line.split('isa:', 1)[1].strip()
        elif len(fields) > 7 and fields[3] == 'exec' and fields[5] == 'convolution':
            kernels.add(fields[6])
    return isa, sorted(kernels)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, REPO_ROOT)
    if args.worker == 'probe':
        import mmcls_ms  # noqa: F401  (applies the environment's setting)
        return _probe()
    if args.worker == 'time':
        import mmcls_ms  # noqa: F401,F811
        return _time(args)

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    rows = []
    with Progress(transient=True) as progress:
        task = progress.add_task('benchmarking', total=2 * len(args.settings))
        for setting in args.settings:
            progress.update(task, description=f'{setting}: probing the conv kernel')
            isa, kernels = parse_verbose(_run_worker('probe', setting, args, verbose=True))
            progress.advance(task)
            progress.update(task, description=f'{setting}: timing {args.model}')
            timing = json.loads(_run_worker('time', setting, args).strip().splitlines()[-1])
            progress.advance(task)
            rows.append((setting, isa, kernels, timing))

    fastest_fwd = min(r[3]['forward_s'] for r in rows)
    fastest_train = min(r[3]['train_s'] for r in rows)
    table = Table(title=f'{args.model}, batch {args.batch} at {args.size}x{args.size}, '
                  f'median of {args.iters}')
    for column in ('ISA cap', 'oneDNN ISA', '3x3 conv kernel'):
        table.add_column(column)
    for column in ('fwd ms', 'ratio', 'train ms', 'ratio'):
        table.add_column(column, justify='right')
    for setting, isa, kernels, timing in rows:
        table.add_row(setting, isa.replace('Intel ', ''), '\n'.join(kernels),
                      f"{1000 * timing['forward_s']:.1f}",
                      f"{timing['forward_s'] / fastest_fwd:.1f}",
                      f"{1000 * timing['train_s']:.1f}",
                      f"{timing['train_s'] / fastest_train:.1f}")
    Console(width=max(Console().width, 110)).print(table)
    print('ratio: time / fastest setting\'s time (lower is better)')


if __name__ == '__main__':
    main()
