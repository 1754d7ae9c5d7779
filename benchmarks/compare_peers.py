"""mmcls_ms against MindCV and torchvision, side by side, in one sitting.

    python benchmarks/compare_peers.py                       # everything, 2 rounds
    python benchmarks/compare_peers.py --workloads inception_v3:infer --rounds 3
    python benchmarks/compare_peers.py --mmcls-variant fast="--fuse-conv-bn"

Every measurement is its own process (``tools/analysis_tools/benchmark.py``
for mmcls_ms, ``benchmarks/peers/*_runner.py`` for the peers) with the same
method: a first step, 2 warm-up steps, 5 timed steps, the median; inference
at batch 16, a training step at batch 8.  The runs are interleaved - each
round visits every (workload, implementation) once, in a rotated order - so
that drift from other load on the machine (~20%) hits everybody alike; the table
shows the median over rounds and the ratio of mmcls_ms to each peer.

Peers run in whichever Python can import them: ``--mindcv-python`` /
``--torch-python``, else ``--peer-python`` (e.g. a virtual environment made
with ``pip install .[parity]``), else this Python.  A peer that none can
import is skipped, and the table says so.  Nothing here is typed in: every
number in the table comes from the runs of this invocation (the raw records go
to ``--out`` as JSON lines).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
BENCHMARK = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark.py')
PEERS = osp.join(HERE, 'peers')

# model -> (mmcls_ms config, cfg-options for the training step)
MODELS = {
    'inception_v3': ('configs/inception_v3/inception-v3_8xb32_in1k.py',
                     # the peers train with the auxiliary classifier (weight 0.4)
                     ['model.backbone.aux_logits=True', 'model.head.aux_loss_weight=0.4']),
    'vgg16': ('configs/vgg/vgg16_8xb32_in1k.py', []),
}
WORKLOADS = ['inception_v3:infer', 'inception_v3:train', 'vgg16:infer', 'vgg16:train']
# the project's speed goals: (workload, peer) -> minimum ratio mmcls_ms / peer (img/s)
GOALS = {
    ('inception_v3:infer', 'torch.compile'): 1.15,
    ('vgg16:infer', 'torch eager'): 1.4, ('vgg16:infer', 'torch.compile'): 1.05,
    ('inception_v3:train', 'torch eager'): 1.3, ('vgg16:train', 'torch eager'): 1.3,
}
# mmcls_ms's float32 GFLOP/s as a share of the measured matmul peak, by task
PEAK_GOALS = {'infer': 0.85, 'train': 0.80}
# training: mmcls_ms's compile time and peak memory no worse than this peer's
NO_WORSE_THAN = 'mindcv graph'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmcls_ms vs MindCV and torchvision')
    parser.add_argument('--workloads', nargs='+', default=WORKLOADS, choices=WORKLOADS)
    parser.add_argument('--rounds', type=int, default=2, help='interleaved rounds')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--mindcv-python', default=None)
    parser.add_argument('--torch-python', default=None)
    parser.add_argument('--peer-python', default=None,
                        help='a Python with the peers installed (pip install .[parity]), '
                             'tried when --mindcv-python / --torch-python are not given')
    parser.add_argument('--no-compile', action='store_true', help='skip torch.compile')
    parser.add_argument('--compile-rounds', type=int, default=None,
                        help='run torch.compile (a cold compile of ~1-3 min per process) only '
                             'in the first N rounds (default: every round)')
    parser.add_argument('--no-mindcv', action='store_true')
    parser.add_argument('--no-torch', action='store_true')
    parser.add_argument('--mmcls-variant', action='append', default=[], metavar='NAME=ARGS',
                        help='an extra mmcls_ms row: benchmark.py arguments, e.g. '
                             'fast="--fuse-conv-bn --threads 2" (repeatable)')
    parser.add_argument('--timeout', type=int, default=900, help='seconds per run')
    parser.add_argument('--out', default=None,
                        help='JSON lines file (default work_dirs/compare_peers/<time>.jsonl)')
    return parser.parse_args(argv)


def find_python(explicit, module, fallback=None):
    """The first interpreter that can import ``module``: ``explicit`` if given, else
    ``fallback``, else this Python (None if none can)."""
    candidates = [explicit] if explicit else [fallback, sys.executable]
    for python in candidates:
        if not python or not osp.exists(python):
            continue
        probe = subprocess.run([python, '-c', f'import {module}'], capture_output=True,
                               timeout=300)
        if probe.returncode == 0:
            return python
    return None


def matmul_peak_gflops(python=sys.executable, size=2048, repeats=5):
    """Best float32 GFLOP/s of a numpy size x size matmul (in a fresh process)."""
    code = (f'import numpy as np, time\nn = {size}\na = np.random.rand(n, n).astype(np.float32)\n'
            'b = a.copy(); a @ b\nbest = 1e9\n'
            f'for _ in range({repeats}):\n    t = time.perf_counter(); a @ b\n'
            '    best = min(best, time.perf_counter() - t)\nprint(2 * n ** 3 / best / 1e9)')
    out = subprocess.run([python, '-c', code], capture_output=True, text=True, timeout=300)
    return float(out.stdout.strip()) if out.returncode == 0 else None


def plan(args):
    """The (workload, implementation name, command) list of one round, and the skips."""
    skipped = []
    mindcv = None if args.no_mindcv else find_python(args.mindcv_python, 'mindcv', args.peer_python)
    torch = None if args.no_torch else find_python(args.torch_python, 'torchvision',
                                                          args.peer_python)
    if mindcv is None:
        skipped.append('mindcv graph: ' + ('--no-mindcv' if args.no_mindcv else
                                           'no Python here can import mindcv'))
    if torch is None:
        skipped.append('torch eager / torch.compile: ' + (
            '--no-torch' if args.no_torch else 'no Python here can import torchvision'))
    elif args.no_compile:
        skipped.append('torch.compile: --no-compile')
    variants = [('mmcls_ms', [])]
    for item in args.mmcls_variant:
        name, _, extra = item.partition('=')
        variants.append((f'mmcls_ms {name}', extra.split()))
    common = ['--warmup', str(args.warmup), '--steps', str(args.steps)]
    runs = []
    for workload in args.workloads:
        model, task = workload.split(':')
        config, train_options = MODELS[model]
        for name, extra in variants:
            if task == 'train' and ({'--fast', '--fuse-conv-bn'} & set(extra)):
                continue  # inference-only variants
            cmd = [sys.executable, BENCHMARK, config, '--task', task, '--no-table'] + common
            if task == 'train' and train_options:
                cmd += ['--cfg-options'] + train_options
            runs.append((workload, name, cmd + extra))
        peer_args = ['--model', model, '--task', task] + common
        if mindcv:
            runner = [mindcv, osp.join(PEERS, 'mindcv_runner.py'), '--mode', 'graph']
            runs.append((workload, 'mindcv graph', runner + peer_args))
            if task == 'train':  # an ms.jit function step, ~2x slower than MindCV's own
                runs.append((workload, 'mindcv jit-fn', runner + ['--trainer', 'jit'] +
                             peer_args))
        if torch:
            runner = osp.join(PEERS, 'torchvision_runner.py')
            runs.append((workload, 'torch eager', [torch, runner, '--mode', 'eager'] + peer_args))
            if task == 'infer' and not args.no_compile:
                runs.append((workload, 'torch.compile',
                             [torch, runner, '--mode', 'compile'] + peer_args))
    return runs, skipped


def run_one(cmd, timeout):
    """Run one measurement; its result dict, or dict(error=...)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return dict(error=f'timed out after {timeout} s')
    for line in reversed(proc.stdout.splitlines()):
        line = line[len('RESULT '):] if line.startswith('RESULT ') else line
        if line.startswith('{'):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    tail = (proc.stderr or proc.stdout)[-600:].strip().splitlines()
    return dict(error=f'exit {proc.returncode}: ' + (tail[-1] if tail else 'no output'))


def gflop_per_image(records):
    """Forward GFLOP per image of each model, from the mmcls_ms runs' own counts."""
    flops = {}
    for rec in records:  # mmcls_ms's own count: the peers' runners may count differently
        if 'forward_gflop_per_image' in rec and rec.get('name', '').startswith('mmcls_ms'):
            flops[rec['workload'].split(':')[0]] = rec['forward_gflop_per_image']
    return flops


def summarise(records):
    """{(workload, impl): dict(ips=[...], compile=[...], rss=[...], errors=[...])}."""
    table = {}
    for rec in records:
        entry = table.setdefault((rec['workload'], rec['name']),
                                 dict(ips=[], compile=[], rss=[], errors=[]))
        if 'error' in rec:
            entry['errors'].append(rec['error'])
            continue
        entry['ips'].append(rec['images_per_s'])
        entry['compile'].append(rec['compile_est_s'])
        entry['rss'].append(rec['peak_rss_mib'])
    return table


def _met(ok):
    return 'met' if ok else 'NOT met'


def goal_of(summary, workload, name, ratio, best_name, peak_share):
    """The goal text of one row: a speed ratio against a peer, the share of the matmul peak
    (mmcls_ms rows), or compile time and memory against MindCV (training)."""
    task = workload.split(':')[1]
    goal = GOALS.get((workload, name))
    if goal is not None and ratio is not None:
        return (f'>={goal:.2f}x {_met(ratio >= goal)} '
                f"({best_name.replace('mmcls_ms', '').strip() or 'default'})")
    if name == best_name and peak_share is not None:
        return f'>={PEAK_GOALS[task]:.0%} of peak {_met(peak_share >= PEAK_GOALS[task])}'
    if task == 'train' and name == NO_WORSE_THAN and best_name:
        ours, theirs = summary[(workload, best_name)], summary[(workload, name)]
        compile_ok = statistics.median(ours['compile']) <= statistics.median(theirs['compile'])
        rss_ok = statistics.median(ours['rss']) <= statistics.median(theirs['rss'])
        return f'compile {_met(compile_ok)}, RSS {_met(rss_ok)} (mmcls_ms <= this)'
    return ''


def print_report(records, skipped, peaks, console):
    """The table of medians, ratios and goals; ``peaks``: the matmul GFLOP/s measured
    before and after the runs (the larger is the machine's peak)."""
    peak = max((p for p in peaks if p), default=None)
    from rich.table import Table
    summary = summarise(records)
    flops = gflop_per_image(records)
    table = Table(title='mmcls_ms vs peers on this machine (median over interleaved rounds)')
    for col in ('workload', 'implementation', 'img/s', 'range', 'GFLOP/s', '% peak',
                'compile s', 'RSS MiB', 'best mmcls_ms/it', 'goal'):
        table.add_column(col, justify='left' if col in ('workload', 'implementation', 'goal')
                         else 'right', no_wrap=True)
    for workload in dict.fromkeys(rec['workload'] for rec in records):
        model, task = workload.split(':')
        # ratios and goals use the fastest mmcls_ms variant of this workload
        variants = {name: statistics.median(entry['ips']) for (wl, name), entry in summary.items()
                    if wl == workload and name.startswith('mmcls_ms') and entry['ips']}
        best_name = max(variants, key=variants.get) if variants else None
        base_ips = variants.get(best_name)
        for (wl, name), entry in summary.items():
            if wl != workload:
                continue
            if not entry['ips']:
                table.add_row(workload, name, 'failed', '', '', '', '', '', '',
                              entry['errors'][0][:60])
                continue
            ips = statistics.median(entry['ips'])
            gflops = ips * flops.get(model, float('nan')) * (3 if task == 'train' else 1)
            ratio = base_ips / ips if base_ips else None
            goal_text = goal_of(summary, workload, name, ratio, best_name,
                                gflops / peak if peak else None)
            table.add_row(workload, name, f'{ips:.2f}',
                          f"{min(entry['ips']):.2f}-{max(entry['ips']):.2f}",
                          f'{gflops:.0f}', f'{100 * gflops / peak:.0f}%' if peak else '',
                          f"{statistics.median(entry['compile']):.1f}",
                          f"{statistics.median(entry['rss']):.0f}",
                          '' if name.startswith('mmcls_ms') or ratio is None
                          else f'{ratio:.2f}x',
                          goal_text)
        table.add_section()
    console.print(table)
    if peak:
        before, after = (f'{p:.0f}' if p else 'failed' for p in peaks)
        console.print(f'float32 matmul peak (numpy 2048x2048): {before} GFLOP/s before the runs, '
                      f'{after} after; "% peak" uses the larger. Training GFLOP/s count 3x '
                      'the forward.')
    for line in skipped:
        console.print(f'[yellow]skipped[/yellow] {line}')


def main(argv=None):
    args = parse_args(argv)
    from rich.console import Console
    from rich.progress import Progress
    console = Console(width=max(220, Console().width))  # the table must not wrap or elide in logs
    runs, skipped = plan(args)
    out = args.out or osp.join(REPO, 'work_dirs', 'compare_peers',
                               datetime.datetime.now().strftime('%Y%m%d_%H%M%S') + '.jsonl')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    peaks = [matmul_peak_gflops()]
    records = []
    with Progress(console=console) as progress, open(out, 'a') as sink:
        n_compile = sum(name == 'torch.compile' for _, name, _ in runs)
        skipped_compiles = n_compile * max(0, args.rounds - (args.compile_rounds or args.rounds))
        bar = progress.add_task('measuring', total=args.rounds * len(runs) - skipped_compiles)
        for rnd in range(args.rounds):
            shift = rnd % max(len(runs), 1)
            for workload, name, cmd in runs[shift:] + runs[:shift]:  # rotate the order
                if name == 'torch.compile' and args.compile_rounds is not None and \
                        rnd >= args.compile_rounds:
                    continue
                progress.update(bar, description=f'round {rnd + 1}: {workload} {name}')
                start = time.time()
                rec = run_one(cmd, args.timeout)
                rec.update(workload=workload, name=name, round=rnd, wall_s=round(
                    time.time() - start, 1), load_avg=os.getloadavg()[0], command=cmd)
                records.append(rec)
                sink.write(json.dumps(rec) + '\n')
                sink.flush()
                progress.advance(bar)
    peaks.append(matmul_peak_gflops())  # before and after: the best is the machine's peak
    print_report(records, skipped, peaks, console)
    console.print(f'raw records: {out}')


if __name__ == '__main__':
    main()
