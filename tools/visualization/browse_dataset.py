"""Draw augmented training samples in a PNG grid, with their class names.

    python tools/visualization/browse_dataset.py CONFIG --output-dir DIR \\
        [--phase train] [--num-images 24] [--ncols 6] [--seed 0] [--epoch 0] \\
        [--scale 2] [--cfg-options KEY=VALUE ...]

Each tile is one sample after the whole pipeline, exactly what the model gets
(before normalisation), seeded as in training: the same ``--seed`` and
``--epoch`` give the same picture.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import (non_negative_int, positive_float, positive_int,  # noqa: E402
                                run_cli)
from mmcls_ms.utils.output_path import check_output_dir  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Show what a data pipeline does')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', required=True, help='where to write the PNG grid')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num-images', type=positive_int, default=24)
    parser.add_argument('--ncols', type=positive_int, default=6)
    parser.add_argument('--seed', type=non_negative_int, default=0)
    parser.add_argument('--epoch', type=non_negative_int, default=0)
    parser.add_argument('--scale', type=positive_float, default=None,
                        help='tile magnification (default: tiles at least 128 px)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return parser.parse_args(argv)


def make_grid(tiles, captions, ncols, scale):
    """One uint8 BGR image: tiles in rows of ``ncols`` with a caption strip each."""
    import cv2
    import numpy as np
    tile_h = int(round(max(t.shape[0] for t in tiles) * scale))
    tile_w = int(round(max(t.shape[1] for t in tiles) * scale))
    caption_h, pad = 22, 4
    nrows = (len(tiles) + ncols - 1) // ncols
    cell_h, cell_w = tile_h + caption_h + pad, tile_w + pad
    grid = np.full((nrows * cell_h + pad, ncols * cell_w + pad, 3), 255, np.uint8)
    for i, (tile, caption) in enumerate(zip(tiles, captions)):
        row, col = divmod(i, ncols)
        top, left = pad + row * cell_h, pad + col * cell_w
        tile = cv2.resize(tile, (int(round(tile.shape[1] * scale)),
                                 int(round(tile.shape[0] * scale))),
                          interpolation=cv2.INTER_NEAREST)
        grid[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
        font_scale = 0.45
        text = caption
        while cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)[0][0] > tile_w \
                and len(text) > 4:
            text = text[:-2]
        cv2.putText(grid, text, (left, top + tile_h + 16), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return grid


def main(argv=None):
    args = parse_args(argv)
    check_output_dir(args.output_dir, '--output-dir')
    import cv2
    import numpy as np
    from mmcls_ms.datasets.config_dataset import build_config_dataset
    from mmcls_ms.utils.progress import track
    dataset = build_config_dataset(args.config, args.phase, args.cfg_options)
    if len(dataset) == 0:
        raise ValueError(f'The {args.phase} dataset is empty.')
    num = min(args.num_images, len(dataset))
    # an evenly spread, seeded choice of samples, so several classes show up
    indices = np.random.default_rng(args.seed).permutation(len(dataset))[:num]
    classes = dataset.classes
    tiles, captions = [], []
    for idx in track(indices.tolist(), description='Augmenting samples'):
        out = dataset.prepare_data(idx, seed=args.seed, epoch=args.epoch)
        img = out['inputs'].transpose(1, 2, 0)
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        tiles.append(np.ascontiguousarray(img[..., :3]).astype(np.uint8))
        label = out['data_samples'].get('gt_label')
        name = '?' if label is None else str(int(label[0]))
        if label is not None and classes is not None and classes[int(label[0])] != name:
            name = f'{name}: {classes[int(label[0])]}'
        captions.append(name)
    scale = args.scale or max(1.0, 128 / max(max(t.shape[:2]) for t in tiles))
    grid = make_grid(tiles, captions, min(args.ncols, num), scale)
    os.makedirs(args.output_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.config))[0]
    path = osp.join(args.output_dir, f'{name}_{args.phase}_seed{args.seed}_epoch{args.epoch}.png')
    if not cv2.imwrite(path, grid):
        raise OSError(f'Could not write {path}.')
    print(f'Wrote {num} samples to {path}')


if __name__ == '__main__':
    run_cli(main)
