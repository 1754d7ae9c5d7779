"""Draw the class activation map (Grad-CAM) of an image, as mmpretrain's tool.

    python tools/visualization/vis_cam.py IMG CONFIG CHECKPOINT \\
        [--target-layers backbone.features.11] [--preview-model] \\
        [--method GradCAM|GradCAM++] [--target-category 3] \\
        [--save-path cam.png] [--device cpu] [--cfg-options KEY=VALUE ...]

The map is drawn on the image after the config's test pipeline (what the
model sees).  Default layers: VGG's last conv module, InceptionV3's
``Mixed_7c``.  Several ``--target-category`` values explain the sum of their
scores; without it, the predicted class.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmcls_ms  # noqa: E402,F401
from mmcls_ms.utils.cli import run_cli  # noqa: E402

UNSUPPORTED = {'eigen_smooth': '--eigen-smooth', 'aug_smooth': '--aug-smooth',
               'vit_like': '--vit-like', 'num_extra_tokens': '--num-extra-tokens'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Visualize a class activation map')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (or URL)')
    parser.add_argument('--target-layers', nargs='+', default=[],
                        help='layer names (default: the last conv block of the backbone)')
    parser.add_argument('--preview-model', action='store_true',
                        help='print the layer names and exit')
    parser.add_argument('--method', default='GradCAM', help='GradCAM or GradCAM++')
    parser.add_argument('--target-category', nargs='+', type=int, default=[],
                        help='class indices to explain (default: the predicted class)')
    parser.add_argument('--save-path', help='write the picture here')
    parser.add_argument('--device', default='cpu', help='cpu, gpu or npu')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    # mmpretrain options of pytorch-grad-cam and ViTs, refused by name below
    parser.add_argument('--eigen-smooth', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--aug-smooth', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--vit-like', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--num-extra-tokens', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for key, flag in UNSUPPORTED.items():
        if getattr(args, key):
            raise ValueError(f'{flag} is not supported by mmcls_ms (GradCAM and GradCAM++ on '
                             'convolutional networks only); remove it.')
    import cv2
    from mmcls_ms.apis.base import BaseInferencer
    from mmcls_ms.apis.cam import compute_cam, default_target_layers, overlay_cam
    from mmcls_ms.utils.config import load_config
    from mmcls_ms.visualization import UniversalVisualizer, has_display
    from mmcls_ms.utils.output_path import check_output_file
    if args.save_path:
        check_output_file(args.save_path, '--save-path', writer='opencv')
    cfg = load_config(args.config, args.cfg_options)
    inferencer = BaseInferencer(cfg, pretrained=args.checkpoint, device=args.device)
    model = inferencer.model
    if args.preview_model:
        for name, cell in model.cells_and_names():
            if name:
                print(f'{name}: {type(cell).__name__}')
        return None
    if not args.save_path and not has_display():
        raise ValueError('No display to show the picture on: pass --save-path FILE.png.')
    layers = args.target_layers or default_target_layers(model)
    packed = inferencer.preprocess(args.img)
    inputs = packed['inputs'][None]
    cam = compute_cam(model, inputs, layers, args.target_category or None, args.method)
    if cam.max() == 0:
        print(f'warning: the CAM is zero everywhere: no activation of {layers} raises the '
              'target score (try another layer or category).')
    image = inputs[0].transpose(1, 2, 0)  # the test-pipeline image (BGR)
    picture = overlay_cam(image, cam)
    print(f'{args.method} of {layers} for category '
          f'{args.target_category or "predicted"}, peak at (row, col) '
          f'{tuple(int(v) for v in divmod(int(cam.argmax()), cam.shape[1]))}')
    if args.save_path:
        os.makedirs(osp.dirname(osp.abspath(args.save_path)), exist_ok=True)
        if not cv2.imwrite(args.save_path, picture):
            raise OSError(f'Could not write {args.save_path} (use .png or .jpg).')
        print(f'Saved the picture to {args.save_path}')
    else:
        UniversalVisualizer.show(picture, 'CAM', wait_time=0)
    return cam


if __name__ == '__main__':
    run_cli(main)
