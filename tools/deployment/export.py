"""Export a trained classifier to MindIR (MindSpore Lite) or ONNX, verified.

    python tools/deployment/export.py configs/inception_v3/inception-v3_8xb32_in1k.py \\
        work_dirs/inception/epoch_100.ckpt --format onnx --shape 1 3 299 299
    python tools/deployment/export.py configs/vgg/vgg11bn-gap_1xb32_digits.py \\
        work_dirs/vgg11bn-gap_1xb32_digits/epoch_5.ckpt --format mindir --out vgg11bn.mindir

The file takes the raw batch (``--input-dtype uint8`` NCHW images, as the
data loader gives them; the data preprocessor is inside) and returns the
logits.  After writing, the tool runs one random batch through the model and
through the file (MindIR: ``mindspore.load`` + ``nn.GraphCell``; ONNX:
onnxruntime when installed) and prints what it verified; it exits with 1 when
they differ by more than ``--atol`` x max(1, max |logit|).

ONNX needs exporter-friendly formulations of three things (made in place,
exact, checked against the untouched model): padded average pools (MindSpore
exports them as AvgPool3D, which has no ONNX mapping), adaptive average
pools, and convolutions with uneven padding (the exporter writes their pads
in the wrong order).  See ``mmcls_ms/deployment``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.utils.cli import non_negative_float, positive_int, run_cli  # noqa: E402
from mmcls_ms.utils.config import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a model to MindIR or ONNX and '
                                                 'verify the file against the model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint to export ('random' for random weights)")
    parser.add_argument('--format', choices=('mindir', 'onnx'), default='mindir')
    parser.add_argument('--shape', type=positive_int, nargs='+', default=None,
                        help="input N C H W (or H W, or one size); default 1 3 and the "
                             "config's test crop size")
    parser.add_argument('--input-dtype', choices=('uint8', 'float32'), default='uint8',
                        help='dtype of the exported input (uint8: raw images)')
    parser.add_argument('--out', default=None,
                        help='output file (default work_dirs/<config name>.<format>)')
    parser.add_argument('--atol', type=non_negative_float, default=None,
                        help='tolerance, relative to max(1, max |logit|) (default 1e-5 for '
                             'MindIR, 1e-4 for ONNX)')
    parser.add_argument('--fast', action='store_true',
                        help='export the inference fast path (BN folded into the convolutions, '
                             'preprocessor as one 1x1 conv); verified against the unchanged '
                             'model')
    parser.add_argument('--no-verify', action='store_true', help='only write the file')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings')
    return parser.parse_args(argv)


def _shape(args, cfg):
    from mmcls_ms.deployment.exporter import input_size_from_config
    shape = args.shape
    if shape is None:
        return (1, 3) + tuple(input_size_from_config(cfg))
    if len(shape) == 1:
        return (1, 3, shape[0], shape[0])
    if len(shape) == 2:
        return (1, 3) + tuple(shape)
    if len(shape) == 4:
        return tuple(shape)
    raise ValueError(f'--shape takes N C H W, H W or one size; got {shape}')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    shape = _shape(args, cfg)
    if args.checkpoint != 'random' and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}. Pass the .ckpt / '
                                ".safetensors written by tools/train.py, or 'random'.")
    from rich.console import Console
    from rich.table import Table

    from mmcls_ms.apis import get_model
    from mmcls_ms.deployment import export_model

    console = Console()
    out = args.out or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    with console.status(f'building the model and exporting {args.format.upper()} ...'):
        model = get_model(cfg, pretrained=False if args.checkpoint == 'random'
                          else args.checkpoint)
        result = export_model(model, out, args.format, shape, args.input_dtype,
                              verify=not args.no_verify, atol=args.atol, fast=args.fast)

    table = Table(title=f'{args.format.upper()} export of {osp.basename(args.config)}')
    table.add_column('item')
    table.add_column('value')
    table.add_row('file', f'{result.path} ({osp.getsize(result.path) / 2**20:.1f} MiB)')
    table.add_row('input', f'inputs: {result.input_dtype} {list(result.input_shape)}')
    table.add_row('output', 'logits')
    table.add_row('weights', args.checkpoint)
    kinds = {}
    for line in result.swapped:  # 'name: Kind(args) -> NewKind', or a fast-path line
        if ': ' not in line:
            table.add_row('inference fast path', line)
            continue
        kind = line.split(': ', 1)[1]
        kind = kind.split('(', 1)[0].split(' ', 1)[0] + ' -> ' + kind.rsplit(' -> ', 1)[1]
        kinds[kind] = kinds.get(kind, 0) + 1
    for kind, count in kinds.items():
        table.add_row('export-time swap', f'{count} x {kind}')
    if result.swap_max_abs_diff is not None:
        table.add_row('swapped model vs model (max abs diff)', f'{result.swap_max_abs_diff:.3g}')
    if result.verified_with:
        table.add_row('verified with', result.verified_with)
        table.add_row('max |logit| (source model)', f'{result.max_abs_logit:.4g}')
        table.add_row('max abs diff', f'{result.max_abs_diff:.3g} (allowed '
                                      f'{result.tolerance:.3g})')
        table.add_row('top-1 agree', str(result.top1_agree))
    if result.skipped_reason:
        table.add_row('note', result.skipped_reason)
    console.print(table)
    if result.verified:
        print(f'VERIFIED {args.format}: {result.path} matches the model via '
              f'{result.verified_with} (max abs diff {result.max_abs_diff:.3g})', flush=True)
    elif result.verified is False:
        print(f'MISMATCH {args.format}: {result.path}: {result.skipped_reason or ""} max abs '
              f'diff {result.max_abs_diff} > {result.tolerance:.3g}', file=sys.stderr, flush=True)
        raise SystemExit(1)
    else:
        print(f'NOT VERIFIED {args.format}: {result.path} ({result.skipped_reason})', flush=True)


if __name__ == '__main__':
    run_cli(main)
