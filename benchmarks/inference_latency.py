"""Inference latency of the mmcls_ms API: cold start and warm, per image.

- **cold start**: a fresh Python process runs the one-liner
  ``inference_model(MODEL, IMG)`` and prints the result; timed from before the
  interpreter starts to the result.  The child also reports its own phases:
  import, model build (+ weight load), first call (graph compile + run).
- **warm, batch 1 and batch 16**: the compiled forward (``ms.jit``, graph
  mode) of one inferencer, per image, on already preprocessed uint8 batches
  ("model"), and for the whole call from image files to results ("end to
  end": decode + test pipeline + forward + softmax).
- ``--pynative`` adds the same model without ``ms.jit`` for comparison.
- ``--compile-cache DIR`` runs the cold start with MindSpore's compile cache
  (``MS_COMPILER_CACHE_ENABLE=1``, ``MS_COMPILER_CACHE_PATH=DIR``): the first
  run fills it, later runs skip most of the graph compilation.

Weights are random unless ``--pretrained`` (zoo weights, cached) or
``--checkpoint`` is given: latency does not depend on their values.  This is a
benchmark, not a test: the numbers vary with other load on the machine.

Example:
    python benchmarks/inference_latency.py inception-v3_3rdparty_8xb32_in1k \\
        --repeats 5 --out work_dirs/bench_inference.json
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from mmcls_ms.utils.benchmark import time_steps  # noqa: E402  (no framework import)

COLD_START = r'''
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[4])  # the checkout, when mmcls_ms is not installed
import mmcls_ms
from mmcls_ms.apis import ImageClassificationInferencer
t1 = time.perf_counter()
inferencer = ImageClassificationInferencer(sys.argv[1], pretrained=json.loads(sys.argv[3]))
t2 = time.perf_counter()
result = inferencer(sys.argv[2])[0]
t3 = time.perf_counter()
print('RESULT ' + json.dumps(dict(pred_label=result['pred_label'], import_s=t1 - t0,
                                  build_s=t2 - t1, first_call_s=t3 - t2)), flush=True)
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Inference latency of mmcls_ms')
    parser.add_argument('model', nargs='?', default='inception-v3_3rdparty_8xb32_in1k',
                        help='zoo name or config')
    parser.add_argument('--img', default=osp.join(REPO, 'demo', 'bird.JPEG'))
    parser.add_argument('--checkpoint', default=None, help='weights to load')
    parser.add_argument('--pretrained', action='store_true', help='load the zoo weights')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per setting')
    parser.add_argument('--cold-runs', type=int, default=1, help='fresh processes to time')
    parser.add_argument('--pynative', action='store_true', help='also time without ms.jit')
    parser.add_argument('--skip-cold', action='store_true')
    parser.add_argument('--compile-cache', default=None, metavar='DIR',
                        help="cold starts use MindSpore's compile cache in DIR")
    parser.add_argument('--out', default=None, help='write the numbers as JSON here')
    return parser.parse_args(argv)


def cold_start(args, pretrained):
    env = dict(os.environ)
    if args.compile_cache:
        env.update(MS_COMPILER_CACHE_ENABLE='1',
                   MS_COMPILER_CACHE_PATH=osp.abspath(args.compile_cache))
    # a script file, not `python -c`: MindSpore's compile cache hashes the entry script
    script_dir = tempfile.mkdtemp(prefix='mmcls_ms_cold_')
    script = osp.join(script_dir, 'cold_start.py')
    with open(script, 'w') as f:
        f.write(COLD_START)
    runs = []
    for _ in range(args.cold_runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, script, args.model, args.img,
                               json.dumps(pretrained), REPO], capture_output=True, text=True,
                              cwd=REPO, env=env)
        wall = time.perf_counter() - start
        line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
        if proc.returncode != 0 or not line:
            raise RuntimeError(f'cold-start run failed:\n{proc.stderr[-2000:]}')
        phases = json.loads(line[0][len('RESULT '):])
        phases['wall_s'] = wall
        runs.append(phases)
    shutil.rmtree(script_dir, ignore_errors=True)
    return runs


def main(argv=None):
    args = parse_args(argv)
    pretrained = args.checkpoint or bool(args.pretrained)
    import mmcls_ms  # noqa: F401
    import mindspore as ms
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from mmcls_ms.apis import ImageClassificationInferencer
    report = dict(model=args.model, image=osp.relpath(args.img, REPO),
                  compile_cache=args.compile_cache,
                  weights='random' if not pretrained else str(pretrained),
                  cpu_count=os.cpu_count(), load_avg=os.getloadavg())
    if not args.skip_cold:
        report['cold_start'] = cold_start(args, pretrained)

    inferencer = ImageClassificationInferencer(args.model, pretrained=pretrained)
    single = inferencer.preprocess(args.img)['inputs']
    net = inferencer.model
    settings = {}  # (batch size, kind) -> callable
    tmp = tempfile.TemporaryDirectory()
    for bs in args.batch_sizes:
        batch = np.stack([single] * bs)
        files = []
        for i in range(bs):
            files.append(osp.join(tmp.name, f'{bs}_{i}.jpg'))
            shutil.copyfile(args.img, files[-1])
        settings[(bs, 'model')] = lambda b=batch: inferencer.forward(b)
        settings[(bs, 'end_to_end')] = (
            lambda f=files, b=bs: inferencer(f, batch_size=b, progress=False))
        if args.pynative:
            tensor = ms.Tensor(batch)

            def eager(t=tensor):
                out = net(t)
                out = out[-1] if isinstance(out, (tuple, list)) else out
                return ms.ops.softmax(out.astype(ms.float32), -1).asnumpy()
            settings[(bs, 'pynative_model')] = eager
    warm = {}
    for (bs, kind), fn in settings.items():
        timing = time_steps(fn, bs, warmup=1, steps=args.repeats)  # the first call compiles
        entry = warm.setdefault(f'batch_{bs}', {})
        entry[f'{kind}_ms_per_image'] = 1000 * min(timing['step_s']) / bs
        entry[f'{kind}_ms_per_image_median'] = 1000 * timing['median_step_s'] / bs
    tmp.cleanup()
    report['warm'] = warm

    console = Console()
    table = Table(title=f'{args.model} inference on {os.cpu_count()} CPU cores '
                        f'(load {report["load_avg"][0]:.1f}; other load makes numbers noisy)')
    table.add_column('setting')
    table.add_column('ms per image (best)', justify='right')
    table.add_column('ms per image (median)', justify='right')
    for i, run in enumerate(report.get('cold_start', [])):
        cached = ' (compile cache)' if args.compile_cache else ''
        table.add_row(f'cold start {i + 1}{cached}: process start -> result',
                      f'{1000 * run["wall_s"]:.0f}', '')
        table.add_row('  import mmcls_ms.apis (MindSpore loads lazily)',
                      f'{1000 * run["import_s"]:.0f}', '')
        table.add_row('  build model (+ weights)', f'{1000 * run["build_s"]:.0f}', '')
        table.add_row('  first call (compile + run)', f'{1000 * run["first_call_s"]:.0f}', '')
    for name, entry in warm.items():
        table.add_row(f'warm {name}, model (graph mode)', f'{entry["model_ms_per_image"]:.1f}',
                      f'{entry["model_ms_per_image_median"]:.1f}')
        table.add_row(f'warm {name}, end to end', f'{entry["end_to_end_ms_per_image"]:.1f}',
                      f'{entry["end_to_end_ms_per_image_median"]:.1f}')
        if 'pynative_model_ms_per_image' in entry:
            table.add_row(f'warm {name}, model (PyNative)',
                          f'{entry["pynative_model_ms_per_image"]:.1f}',
                          f'{entry["pynative_model_ms_per_image_median"]:.1f}')
    console.print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
