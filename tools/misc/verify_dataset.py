"""Check every image of a config's dataset before a long run.

    python tools/misc/verify_dataset.py CONFIG [--phase train] [--num-process 2] \\
        [--out-path brokenfiles.log] [--cfg-options KEY=VALUE ...]

Each file is read and decoded with OpenCV, as training reads it (in parallel
processes).  A file is bad when it is empty, cannot be decoded, lacks its end
marker (a truncated JPEG or PNG, which OpenCV fills with grey or black rows),
or decodes with a decoder warning such as libjpeg's "Corrupt JPEG data" (the
pixels are garbage from there on); see ``mmcls_ms/datasets/image_check.py``.
Every bad file is printed with the reason and written to ``--out-path``; the
exit status is 1 when any file is bad.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import positive_int, run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Find unreadable images of a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader of the config to check')
    parser.add_argument('--num-process', type=positive_int, default=2, help='parallel processes')
    parser.add_argument('--out-path', default='brokenfiles.log',
                        help='file that lists the bad images')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def check_image(path):
    """``(path, None)`` when the image is sound, else ``(path, reason)``."""
    from mmcls_ms.datasets.image_check import find_image_problem
    try:
        return path, find_image_problem(path)
    except Exception as err:  # report every kind of failure, never stop the scan
        return path, f'{type(err).__name__}: {err}'


def main(argv=None):
    args = parse_args(argv)
    from mmcls_ms.datasets.config_dataset import build_config_dataset
    from mmcls_ms.utils.output_path import check_output_file
    from mmcls_ms.utils.progress import track
    check_output_file(args.out_path, '--out-path')  # before the images are checked
    # only the file list is needed: no pipeline
    dataset = build_config_dataset(args.config, args.phase, args.cfg_options, pipeline=[])
    paths = [info['img_path'] for info in dataset.data_list]
    bad = []
    with multiprocessing.get_context('fork').Pool(args.num_process) as pool:
        results = pool.imap_unordered(check_image, paths, chunksize=16)
        for path, problem in track(results, description=f'Checking {len(paths)} images',
                                   total=len(paths)):
            if problem:
                bad.append((path, problem))
    bad.sort()
    os.makedirs(osp.dirname(osp.abspath(args.out_path)), exist_ok=True)
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
