"""Check every image of a config's dataset before a long run.

    python tools/misc/verify_dataset.py CONFIG [--phase train] [--num-process 2] \\
        [--out-path brokenfiles.log] [--cfg-options KEY=VALUE ...]

Each file is read and decoded (in parallel processes); JPEGs without their
end-of-image marker and PNGs without their IEND chunk count as truncated,
because OpenCV decodes those silently with grey or black rows.  Every bad file
is printed with the reason and written to ``--out-path``; the exit status is 1
when any file is bad.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Find unreadable images of a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader of the config to check')
    parser.add_argument('--num-process', type=int, default=2, help='parallel processes')
    parser.add_argument('--out-path', default='brokenfiles.log',
                        help='file that lists the bad images')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def truncation_problem(path, head, tail):
    """A reason string when the file looks truncated, else None."""
    if head.startswith(b'\xff\xd8'):  # JPEG: must end with EOI (trailing padding is allowed)
        if b'\xff\xd9' not in tail:
            return 'truncated JPEG (no end-of-image marker)'
    elif head.startswith(b'\x89PNG\r\n\x1a\n'):
        if b'IEND' not in tail:
            return 'truncated PNG (no IEND chunk)'
    return None


def check_image(path):
    """``(path, None)`` when the image is fine, else ``(path, reason)``."""
    from mmcls_ms.datasets.transforms.loading import read_image
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            head = f.read(16)
            f.seek(max(0, size - 64))
            tail = f.read()
        problem = truncation_problem(path, head, tail)
        if problem:
            return path, problem
        img = read_image(path)
        if min(img.shape[:2]) < 1:
            return path, f'empty image of shape {img.shape}'
    except Exception as err:  # report every kind of failure, never stop the scan
        return path, str(err)
    return path, None


def main(argv=None):
    args = parse_args(argv)
    from mmcls_ms.registry import DATASETS
    from mmcls_ms.utils.config import load_config
    from mmcls_ms.utils.progress import track
    cfg = load_config(args.config, args.cfg_options)
    key = f'{args.phase}_dataloader'
    if key not in cfg:
        raise KeyError(f'{args.config} has no {key!r}.')
    dataset_cfg = dict(cfg[key]['dataset'])
    dataset_cfg['pipeline'] = []  # only the file list is needed
    dataset = DATASETS.build(dataset_cfg)
    paths = [info['img_path'] for info in dataset.data_list]
    bad = []
    with multiprocessing.get_context('fork').Pool(max(1, args.num_process)) as pool:
        results = pool.imap_unordered(check_image, paths, chunksize=16)
        for path, problem in track(results, description=f'Checking {len(paths)} images',
                                   total=len(paths)):
            if problem:
                bad.append((path, problem))
    bad.sort()
    with open(args.out_path, 'w', encoding='utf-8') as f:
        for path, problem in bad:
            f.write(f'{path}\t{problem}\n')
    if bad:
        print(f'{len(bad)} of {len(paths)} images are bad (listed in {args.out_path}):')
        for path, problem in bad:
            print(f'  {path}: {problem}')
        raise SystemExit(1)
    print(f'All {len(paths)} images of the {args.phase} set are readable.')


if __name__ == '__main__':
    run_cli(main)
