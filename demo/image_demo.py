"""Classify one image (or a folder) and print the result as JSON.

Examples:
    python demo/image_demo.py demo/bird.JPEG inception-v3_3rdparty_8xb32_in1k
    python demo/image_demo.py demo/cat.JPEG configs/vgg/vgg11bn_8xb32_in1k.py \\
        --checkpoint work_dirs/vgg11bn/epoch_100.ckpt --show-dir outputs/
"""
import argparse
import json
import os
import sys

# run from a checkout without installing
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmcls_ms.utils.cli import positive_int  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Classify an image with mmcls_ms.')
    parser.add_argument('img', help='image file or folder of images')
    parser.add_argument('model', help='model name (see mmcls_ms.apis.list_models()) or config')
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint file or URL (default: the zoo weights of a model name)')
    parser.add_argument('--show-dir', default=None,
                        help='write the image with its top-5 classes drawn on it here')
    parser.add_argument('--show', action='store_true',
                        help='show each image with its predictions in a window (needs a display)')
    parser.add_argument('--device', default=None, help="'cpu', 'gpu' or 'npu'")
    parser.add_argument('--topk', type=positive_int, default=5, help='classes to print and draw')
    parser.add_argument('--mirror', default=None,
                        help='folder or base URL holding the weight files (or $MMCLS_MS_MIRROR)')
    parser.add_argument('--batch-size', type=positive_int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import mmcls_ms  # noqa: F401  (chooses the oneDNN ISA before MindSpore runs)
    from mmcls_ms.apis import ImageClassificationInferencer
    from mmcls_ms.utils.cli import error_message, is_expected_error

    pretrained = args.checkpoint if args.checkpoint else True
    try:
        inferencer = ImageClassificationInferencer(args.model, pretrained=pretrained,
                                                   device=args.device, mirror=args.mirror)
        results = inferencer(args.img, batch_size=args.batch_size, show_dir=args.show_dir,
                             show=args.show, top_k=args.topk)
    except Exception as e:  # noqa: B902
        if not is_expected_error(e):
            raise  # a bug: keep its traceback
        # the messages say what to do; a stack trace would only hide them
        print(error_message(e), file=sys.stderr)
        return 1

    shown = []
    for result in results:
        item = {k: v for k, v in result.items() if k != 'pred_scores'}
        item['topk'] = [{'class': name, 'score': round(score, 6)}
                        for name, score in inferencer.top_k(result, args.topk)]
        shown.append(item)
    print(json.dumps(shown[0] if len(shown) == 1 else shown, indent=2, ensure_ascii=False))
    return 0


if __name__ == '__main__':
    sys.exit(main())
