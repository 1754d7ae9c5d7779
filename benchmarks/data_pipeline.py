"""Images per second of a config's data pipelines, next to MindCV's pipeline.

Writes ``--num-images`` JPEGs of ``--image-size`` (default 500x375, smooth
natural-looking content) into a temporary class-folder dataset, then times a
full pass of:

- mmcls_ms's loader (``build_dataloader``) with the config's train and test
  pipelines, at each ``--workers`` count (and each ``--worker-types``);
- MindCV's pipelines built directly from ``mindspore.dataset`` ops, as
  MindCV's ``create_transforms`` builds them (uint8 output, no Normalize):
  train = ImageFolderDataset -> RandomCropDecodeResize(299) ->
  RandomHorizontalFlip -> HWC2CHW; test = Decode -> Resize(341) ->
  CenterCrop(299) -> HWC2CHW.

It also checks, pixel by pixel on one of the JPEGs, whether MindSpore's C++
ops could stand in for the OpenCV ones (``--skip-mindcv`` skips both).

CPU milliseconds per image (all threads and worker processes) are reported
too: unlike img/s they do not depend on what else runs on the machine.

Each setting is run ``--repeats`` times (interleaved) and the best pass is
reported, both whole (building the pipeline and its workers included, which
every epoch pays once) and steady (after the first batch: what long epochs
see).  This is a benchmark, not a test: numbers vary with the
machine's load.

Example:
    python benchmarks/data_pipeline.py \\
        configs/inception_v3/inception-v3_8xb32_in1k.py --workers 1 2
"""
import argparse
import json
import os
import os.path as osp
import resource
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmcls_ms  # noqa: E402,F401  (sets the oneDNN ISA before MindSpore runs)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmcls_ms.datasets import build_dataloader  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?',
                        default='configs/inception_v3/inception-v3_8xb32_in1k.py')
    parser.add_argument('--num-images', type=int, default=256)
    parser.add_argument('--image-size', type=int, nargs=2, default=(500, 375),
                        metavar=('W', 'H'))
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--worker-types', nargs='+', default=['process', 'thread'],
                        choices=['process', 'thread'])
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--crop', type=int, default=299, help='MindCV crop size')
    parser.add_argument('--skip-mindcv', action='store_true')
    parser.add_argument('--step-images-per-s', type=float, default=1.7,
                        help='images per second one training step consumes, for the goal line '
                        '(default: MindCV InceptionV3, graph mode, batch 8, 2-core CPU)')
    parser.add_argument('--out', help='append the results as one JSON line to this file')
    return parser.parse_args()


def natural_image(rng, width, height):
    """Smooth colour blobs plus mild noise: JPEG sizes like a photo's."""
    small = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    img += rng.integers(-12, 13, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_images(root, num, width, height):
    rng = np.random.default_rng(0)
    for i in range(num):
        folder = osp.join(root, 'train', f'class_{i % 4}')
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(osp.join(folder, f'{i:05d}.jpg'), natural_image(rng, width, height),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])


def cpu_seconds():
    """CPU time of this process, its threads and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_pass(make_iter):
    """(images, seconds in all, seconds to the first batch, images in it, CPU seconds)."""
    start, cpu_start = time.perf_counter(), cpu_seconds()
    count, first, first_count = 0, None, 0
    for batch in make_iter():
        count += len(batch)
        if first is None:
            first, first_count = time.perf_counter() - start, len(batch)
    return (count, time.perf_counter() - start, first, first_count,
            cpu_seconds() - cpu_start)


def ours(cfg, pipeline, root, workers, worker_type, batch_size):
    loader_cfg = dict(batch_size=batch_size, num_workers=workers, worker_type=worker_type,
                      dataset=dict(type='CustomDataset', data_root=root, data_prefix='train',
                                   pipeline=pipeline),
                      sampler=dict(type='DefaultSampler', shuffle=True))
    loader = build_dataloader(loader_cfg, seed=0)

    def run():
        for batch in loader:
            yield batch['gt_label']
    return run


def mindcv(train, root, workers, batch_size, crop):
    import mindspore.dataset as ds
    import mindspore.dataset.vision as vision
    from mindspore.dataset.vision import Inter

    def run():
        data = ds.ImageFolderDataset(osp.join(root, 'train'), shuffle=True,
                                     num_parallel_workers=workers)
        if train:
            ops = [vision.RandomCropDecodeResize(crop, scale=(0.08, 1.0), ratio=(0.75, 1.333),
                                                 interpolation=Inter.BILINEAR),
                   vision.RandomHorizontalFlip(prob=0.5)]
        else:
            resize = int(crop / 0.875)  # MindCV: crop_pct 0.875 -> 341 for 299
            ops = [vision.Decode(), vision.Resize(resize, interpolation=Inter.BILINEAR),
                   vision.CenterCrop(crop)]
        ops.append(vision.HWC2CHW())
        data = data.map(ops, input_columns='image', num_parallel_workers=workers)
        data = data.batch(batch_size, drop_remainder=False)
        for _, label in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
            yield label
    return run


def fast_path_check(path):
    """Max pixel difference between MindSpore's C++ vision ops and ours."""
    import mindspore.dataset.vision as vision
    from mindspore.dataset.vision import Inter

    from mmcls_ms.datasets.transforms import CenterCrop, ResizeEdge, read_image
    raw = np.fromfile(path, np.uint8)
    ours_img = read_image(path)
    ms_img = vision.Decode()(raw)[..., ::-1]  # RGB -> BGR
    rows = [('Decode vs cv2.imdecode', ms_img, ours_img)]
    ours_resized = ResizeEdge(342)(dict(img=ours_img))['img']
    ms_resized = vision.Resize(342, Inter.BILINEAR)(ms_img[..., ::-1].copy())[..., ::-1]
    rows.append(('Resize(342) vs ResizeEdge(342)', ms_resized, ours_resized))
    ours_crop = CenterCrop(299)(dict(img=ours_resized))['img']
    ms_crop = vision.CenterCrop(299)(ms_resized.copy())
    rows.append(('CenterCrop(299)', ms_crop, ours_crop))
    rows.append(('HorizontalFlip', vision.HorizontalFlip()(ours_img.copy()), ours_img[:, ::-1]))
    print('MindSpore C++ op vs mmcls_ms (OpenCV), one 500x375 JPEG:')
    for name, a, b in rows:
        same_shape = a.shape == b.shape
        diff = int(np.abs(a.astype(int) - b.astype(int)).max()) if same_shape else None
        print(f'  {name:<32} max |diff| = {diff}')
    return {name: (int(np.abs(a.astype(int) - b.astype(int)).max())
                   if a.shape == b.shape else None) for name, a, b in rows}


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    pipelines = {'train': cfg.train_dataloader.dataset.pipeline,
                 'test': cfg.val_dataloader.dataset.pipeline}
    width, height = args.image_size
    results = []
    with tempfile.TemporaryDirectory(prefix='mmcls_ms_bench_') as root:
        write_images(root, args.num_images, width, height)
        checks = None
        if not args.skip_mindcv:
            checks = fast_path_check(osp.join(root, 'train', 'class_0', '00000.jpg'))
        settings = []
        for split, pipeline in pipelines.items():
            for workers in args.workers:
                for wtype in args.worker_types:
                    settings.append((f'mmcls_ms {split}', workers, wtype,
                                     ours(cfg, pipeline, root, workers, wtype, args.batch_size)))
                if not args.skip_mindcv:
                    settings.append((f'mindcv {split}', workers, 'mindspore-c++',
                                     mindcv(split == 'train', root, workers, args.batch_size,
                                            args.crop)))
        best, steady, startup, cpu_ms = {}, {}, {}, {}
        for _ in range(args.repeats):  # interleaved: the machine's drift hits all alike
            for name, workers, wtype, run in settings:
                count, seconds, first, first_count, cpu = time_pass(run)
                key = (name, workers, wtype)
                cpu_ms[key] = min(cpu_ms.get(key, float('inf')), 1000 * cpu / count)
                best[key] = max(best.get(key, 0.0), count / seconds)
                if count > first_count:
                    rate = (count - first_count) / max(seconds - first, 1e-9)
                    steady[key] = max(steady.get(key, 0.0), rate)
                startup[key] = min(startup.get(key, float('inf')), first)
        print(f'{args.num_images} JPEGs of {width}x{height}, batch {args.batch_size}, best of '
              f'{args.repeats} passes. img/s: whole pass (start-up included); steady: after '
              'the first batch; first: seconds to the first batch; CPU: CPU milliseconds per '
              'image, all threads and worker processes (independent of other load on the '
              'machine)')
        print(f'{"pipeline":<16}{"workers":>8}  {"worker type":<15}{"img/s":>9}{"steady":>9}'
              f'{"first":>8}{"CPU":>8}')
        for key, ips in best.items():
            name, workers, wtype = key
            print(f'{name:<16}{workers:>8}  {wtype:<15}{ips:>9.1f}{steady.get(key, 0):>9.1f}'
                  f'{startup[key]:>8.2f}{cpu_ms[key]:>8.2f}')
            results.append(dict(pipeline=name, workers=workers, worker_type=wtype,
                                images_per_s=round(ips, 2),
                                steady_images_per_s=round(steady.get(key, 0), 2),
                                first_batch_s=round(startup[key], 3),
                                cpu_ms_per_image=round(cpu_ms[key], 3)))
        for split in pipelines:
            for workers in args.workers:
                ref = best.get((f'mindcv {split}', workers, 'mindspore-c++'))
                ref_steady = steady.get((f'mindcv {split}', workers, 'mindspore-c++'))
                for wtype in args.worker_types:
                    mine = best.get((f'mmcls_ms {split}', workers, wtype))
                    mine_steady = steady.get((f'mmcls_ms {split}', workers, wtype))
                    if ref and mine:
                        line = (f'ratio mmcls_ms/mindcv {split}, {workers} workers ({wtype}): '
                                f'{mine / ref:.2f} whole pass')
                        if ref_steady and mine_steady:
                            line += f', {mine_steady / ref_steady:.2f} steady'
                        ref_cpu = cpu_ms[(f'mindcv {split}', workers, 'mindspore-c++')]
                        mine_cpu = cpu_ms[(f'mmcls_ms {split}', workers, wtype)]
                        line += f'; CPU per image mindcv/mmcls_ms {ref_cpu / mine_cpu:.2f}'
                        print(line)
    train_ips = [ips for (name, _, _), ips in best.items() if name == 'mmcls_ms train']
    if train_ips:
        need = 3 * args.step_images_per_s
        got = max((best.get(('mmcls_ms train', w, t), 0) for w in args.workers if w >= 2
                   for t in args.worker_types), default=0) or max(train_ips)
        print(f'goal: >= 3 x {args.step_images_per_s} = {need:.1f} img/s for training; '
              f'the train pipeline gives {got:.1f} img/s ({got / args.step_images_per_s:.0f}x '
              'what one training step consumes)')
    if args.out:
        with open(args.out, 'a') as f:
            f.write(json.dumps(dict(config=args.config, image_size=[width, height],
                                    num_images=args.num_images, results=results,
                                    fast_path_max_diff=checks)) + '\n')


if __name__ == '__main__':
    main()
