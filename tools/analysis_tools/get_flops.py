"""FLOPs and parameters of a config's model, as a table.

    python tools/analysis_tools/get_flops.py configs/inception_v3/inception-v3_8xb32_in1k.py \\
        --shape 299 299
    python tools/analysis_tools/get_flops.py configs/vgg/vgg16_8xb32_in1k.py --shape 224

FLOPs are multiply-adds counted analytically from one forward of a batch of
one (``mmcls_ms/models/utils/complexity.py`` has the rules, mmcv's, which
reproduce mmpretrain's published numbers).  As in mmpretrain, the counted
forward is ``extract_feat`` (backbone and neck; VGG's and InceptionV3's
built-in classifiers are part of the backbone); ``--with-head`` adds the head.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401  (chooses the oneDNN ISA before MindSpore runs)
from mmcls_ms.utils.cli import non_negative_int, positive_int, run_cli  # noqa: E402
from mmcls_ms.utils.config import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count FLOPs and params of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=positive_int, nargs='+', default=[224, 224],
                        help='input size: H W, or one number for a square')
    parser.add_argument('--depth', type=non_negative_int, default=2,
                        help='group layers by this many name parts (2: backbone.Mixed_5b)')
    parser.add_argument('--with-head', action='store_true',
                        help='count the head too (mmpretrain counts extract_feat only)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config settings, e.g. model.backbone.depth=13')
    return parser.parse_args(argv)


def _human(number: float, unit: str = '') -> str:
    for threshold, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(number) >= threshold:
            return f'{number / threshold:.3f}{suffix}{unit}'
    return f'{number:.0f}{unit}'


def main(argv=None):
    args = parse_args(argv)
    if len(args.shape) == 1:
        height = width = args.shape[0]
    elif len(args.shape) == 2:
        height, width = args.shape
    else:
        raise ValueError(f'--shape takes H W or one size, got {args.shape}')
    cfg = load_config(args.config, args.cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'{args.config} has no `model` to count')

    import mindspore as ms
    from rich.console import Console
    from rich.table import Table

    from mmcls_ms.models.utils.complexity import count_complexity
    from mmcls_ms.registry import MODELS

    ms.set_context(mode=ms.PYNATIVE_MODE)  # forward hooks need PyNative
    model = MODELS.build(cfg.model)
    if args.with_head:
        forward = None
    else:
        def forward(net, x):
            return net.extract_feat(x) if hasattr(net, 'extract_feat') else net(x)
    report = count_complexity(model, (1, 3, height, width), forward=forward)

    table = Table(title=f'{osp.basename(args.config)} at {height}x{width} (batch 1)')
    table.add_column('module')
    table.add_column('params', justify='right')
    table.add_column('FLOPs', justify='right')
    table.add_column('% FLOPs', justify='right')
    total = max(report.total_flops, 1)
    for name, (flops, params) in report.by_module(args.depth).items():
        table.add_row(name, _human(params), _human(flops), f'{100 * flops / total:.1f}')
    table.add_section()
    table.add_row('total', _human(report.total_params), _human(report.total_flops), '100.0',
                  style='bold')
    console = Console()
    console.print(table)
    split_line = '=' * 30
    console.print(f'{split_line}\nInput shape: {(3, height, width)}\n'
                  f'Flops: {_human(report.total_flops)} ({report.total_flops:,})\n'
                  f'  of which conv/linear multiply-adds: {_human(report.macs)}\n'
                  f'Params: {_human(report.total_params)} ({report.total_params:,}; '
                  f'trainable {report.trainable_params:,})\n{split_line}',
                  highlight=False)


if __name__ == '__main__':
    run_cli(main)
