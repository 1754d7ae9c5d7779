"""A web page that classifies an uploaded image: the top-5 classes with their
scores and the Grad-CAM of the top class, as mmpretrain's Gradio demo.

Examples:
    python demo/web_demo.py --config configs/vgg/vgg11bn-gap_1xb32_digits.py \\
        --checkpoint work_dirs/vgg11bn-gap_1xb32_digits/epoch_5.ckpt
    python demo/web_demo.py --model inception-v3_3rdparty_8xb32_in1k --port 8080
    python demo/web_demo.py            # the zoo models whose weights are cached

The server is the standard library's ``ThreadingHTTPServer`` with one HTML
page ("A web demo" in docs/analysis_tools.md says why).  It listens on
127.0.0.1 unless ``--host`` says otherwise; ``--port 0`` takes a free port.  It prints the address once
the first model is loaded.  Predictions go through
``ImageClassificationInferencer`` and the map through ``mmcls_ms.apis.cam``,
one request at a time (one lock); a bad upload gets an HTTP 4xx and its
message on the page.  ``POST /predict`` with ``Accept: application/json``
answers in JSON (the top-5 only, without the map).
"""
import argparse
import base64
import html
import json
import os
import sys
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

# run from a checkout without installing
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOP_K = 5
# a refused upload is read and dropped up to this many bytes, so that the
# client, still sending, gets the answer; beyond it the connection is closed
DRAIN_LIMIT = 256 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart headers and boundaries around the file
# a small file can hold a huge picture (a PNG of one colour): its size is read
# from the header first, so that decoding it cannot take gigabytes
MAX_MEGAPIXELS = 50


class UploadError(ValueError):
    """A request the demo refuses: its HTTP status and the message to show."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def zoo_models() -> List[Tuple[str, bool]]:
    """``(name, weights cached)`` for each image classification model of the zoo.

    Example:
        >>> ('vgg11bn_8xb32_in1k', False) in zoo_models()  # doctest: +SKIP
        True
    """
    from mmcls_ms.apis import ImageClassificationInferencer
    from mmcls_ms.apis.model_index import ModelHub
    from mmcls_ms.weights.download import cache_dir, file_name_of
    models = []
    for name in ImageClassificationInferencer.list_models():
        weights = ModelHub.get(name).weights
        if not weights:
            cached = False
        elif '://' in weights:
            cached = os.path.isfile(os.path.join(cache_dir(), file_name_of(weights)))
        else:
            cached = os.path.isfile(weights)
        models.append((name, cached))
    return models


def _header_megapixels(data: bytes) -> Optional[float]:
    """Megapixels of the image as its header states them (Pillow reads no
    pixels yet); inf past Pillow's own bomb limit; None when Pillow does not
    know the format."""
    import io
    import warnings

    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size[0] * image.size[1] / 1e6
    except Image.DecompressionBombError:  # past twice Pillow's limit
        return float('inf')
    except Exception:  # noqa: B902  not Pillow's format: OpenCV decodes it or says why
        return None


class Classifier:
    """The models the page offers, built on first use, and one lock around
    every model call (MindSpore runs one graph at a time anyway).

    Args:
        builders: ``{shown name: function returning an
            ImageClassificationInferencer}``, in the order of the page's list.
        min_side: the smallest image side accepted, in pixels.
    """

    def __init__(self, builders: Dict[str, Callable], min_side: int = 8,
                 max_megapixels: float = MAX_MEGAPIXELS):
        self.builders = builders
        self.min_side = min_side
        self.max_megapixels = max_megapixels
        self._inferencers = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> List[str]:
        return list(self.builders)

    def _inferencer(self, name: str):
        from mmcls_ms.utils.cli import error_message, is_expected_error
        if name not in self._inferencers:
            try:
                self._inferencers[name] = self.builders[name]()
            except Exception as e:  # noqa: B902  a bug keeps its traceback (in the log)
                if not is_expected_error(e):
                    raise
                raise UploadError(HTTPStatus.SERVICE_UNAVAILABLE,
                                  f'Model {name!r} could not be loaded: '
                                  f'{error_message(e)[len("error: "):]}') from None
        return self._inferencers[name]

    def warm_up(self) -> None:
        """Build the first model and run it once (its graphs compile here,
        not in the first request)."""
        self.classify(self.names[0], 'warm-up.png', None,
                      image=np.zeros((64, 64, 3), np.uint8))

    def decode(self, file_name: str, data: bytes) -> np.ndarray:
        """The uploaded bytes as an HxWx3 BGR image, or an UploadError."""
        from mmcls_ms.datasets.transforms import ImageReadError, decode_image
        if not data:
            raise UploadError(HTTPStatus.BAD_REQUEST,
                              f'{file_name!r} is empty (0 bytes): choose an image file.')
        megapixels = _header_megapixels(data)
        if megapixels is not None and megapixels > self.max_megapixels:
            amount = 'over 179' if megapixels == float('inf') else f'{megapixels:.0f}'
            raise UploadError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f'{file_name!r} has {amount} megapixels; the limit is {self.max_megapixels:g} '
                '(--max-megapixels): upload a smaller image.')
        try:
            image = decode_image(np.frombuffer(data, np.uint8), file_name)
        except ImageReadError as e:
            raise UploadError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f'{e} Upload a JPEG, PNG, BMP, TIFF or WebP image.') from None
        height, width = image.shape[:2]
        if min(height, width) < self.min_side:
            raise UploadError(
                HTTPStatus.BAD_REQUEST,
                f'{file_name!r} is {width}x{height} pixels; the demo needs at least '
                f'{self.min_side}x{self.min_side} (--min-size): upload a larger image.')
        return image

    def classify(self, model_name: str, file_name: str, data: Optional[bytes],
                 image=None, with_cam: bool = True) -> dict:
        """Top-k classes and, ``with_cam``, the Grad-CAM overlay (PNG bytes)
        of one upload.

        Example:
            >>> answer = classifier.classify(classifier.names[0], '7.png', data)  # doctest: +SKIP
            >>> answer['topk'][0]                                               # doctest: +SKIP
            ('7', 0.98)
        """
        import cv2

        from mmcls_ms.apis.cam import compute_cam, default_target_layers, overlay_cam
        if model_name not in self.builders:
            raise UploadError(HTTPStatus.BAD_REQUEST,
                              f'Model {model_name!r} is not served here; choose one of '
                              f'{self.names}.')
        if image is None:
            image = self.decode(file_name, data)
        with self._lock:
            inferencer = self._inferencer(model_name)
            try:
                result = inferencer(image)[0]
                inputs = inferencer.preprocess(image)['inputs'][None]
            # the test pipeline (ValueError) or the model (RuntimeError, naming the
            # input shape) refused the image
            except (ValueError, RuntimeError) as e:
                raise UploadError(HTTPStatus.UNPROCESSABLE_ENTITY,
                                  f'{file_name!r} cannot be classified: {e}') from None
            answer = dict(model=model_name, pred_label=result['pred_label'],
                          topk=inferencer.top_k(result, TOP_K))
            if not with_cam:
                return answer
            cam = compute_cam(inferencer.model, inputs, default_target_layers(inferencer.model),
                              [result['pred_label']])
        picture = overlay_cam(inputs[0].transpose(1, 2, 0), cam)  # the image the model saw
        answer['cam_png'] = cv2.imencode('.png', picture)[1].tobytes()
        return answer


# ----------------------------------------------------------------------- page
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mmcls_ms web demo</title>
<style>
body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; }}
#error {{ color: #b00020; font-weight: bold; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .2em .8em; text-align: left; }}
#cam {{ image-rendering: pixelated; width: {cam_width}px; }}
</style></head>
<body>
<h1>Image classification</h1>
<form id="upload" action="/predict" method="post" enctype="multipart/form-data">
<p><label>Model <select id="model" name="model">{options}</select></label></p>
<p><label>Image <input id="image" type="file" name="image" accept="image/*"></label>
(at most {max_mb:g} MB)</p>
<p><button id="submit" type="submit">Classify</button></p>
</form>
{body}
</body></html>
"""


def _options(served: List[str], selected: str, not_cached: List[str]) -> str:
    options = [f'<option value="{html.escape(n)}"{" selected" if n == selected else ""}>'
               f'{html.escape(n)}</option>' for n in served]
    if not_cached:
        options.append('<optgroup label="weights not cached (fetch them with '
                       'demo/image_demo.py or --model NAME)">')
        options += [f'<option disabled>{html.escape(n)}</option>' for n in not_cached]
        options.append('</optgroup>')
    return ''.join(options)


def _result_html(result: dict, file_name: str) -> str:
    rows = ''.join(f'<tr><td class="class">{html.escape(str(name))}</td>'
                   f'<td class="score">{score:.4f}</td></tr>' for name, score in result['topk'])
    top_name, top_score = result['topk'][0]
    cam = base64.b64encode(result['cam_png']).decode()
    return (f'<h2>{html.escape(file_name)} with {html.escape(result["model"])}</h2>'
            f'<p>Top-1: <span id="top1-class">{html.escape(str(top_name))}</span> '
            f'(<span id="top1-score">{top_score:.4f}</span>)</p>'
            f'<table id="topk"><tr><th>class</th><th>score</th></tr>{rows}</table>'
            f'<h3>Grad-CAM of the top-1 class</h3>'
            f'<img id="cam" alt="Grad-CAM overlay" src="data:image/png;base64,{cam}">')


class DemoHandler(BaseHTTPRequestHandler):
    """``GET /``: the page; ``POST /predict``: the page with the result (or
    JSON when the request accepts ``application/json``)."""

    classifier: Classifier = None
    not_cached: List[str] = []
    max_upload_bytes: int = 20 * 1024 * 1024
    timeout = 60  # seconds a client may stall before its connection is dropped
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write(f'{self.address_string()} {format % args}\n')

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)

    def _page(self, status: int, body: str = '', selected: str = '') -> None:
        page = PAGE.format(options=_options(self.classifier.names, selected, self.not_cached),
                           body=body, max_mb=self.max_upload_bytes / 2 ** 20, cam_width=256)
        self._send(status, page.encode(), 'text/html; charset=utf-8')

    def _wants_json(self) -> bool:
        return 'application/json' in self.headers.get('Accept', '')

    def _error(self, error: UploadError, selected: str = '') -> None:
        if self._wants_json():
            self._send(error.status, json.dumps({'error': str(error)}).encode(),
                       'application/json')
        else:
            self._page(error.status, f'<p id="error">{html.escape(str(error))}</p>', selected)

    def do_GET(self):  # noqa: N802 (the base class's name)
        if self.path.split('?')[0] != '/':
            self._error(UploadError(HTTPStatus.NOT_FOUND, f'No page {self.path!r}; open /.'))
            return
        self._page(HTTPStatus.OK)

    def do_POST(self):  # noqa: N802 (the base class's name)
        model_name = ''
        try:
            if self.path.split('?')[0] != '/predict':
                self._drain(self._content_length())
                raise UploadError(HTTPStatus.NOT_FOUND, f'No form {self.path!r}; post to '
                                  '/predict.')
            model_name, file_name, data = self._read_form()
            # the JSON answer has no picture: the map is not computed for it
            result = self.classifier.classify(model_name or self.classifier.names[0],
                                              file_name, data, with_cam=not self._wants_json())
        except UploadError as e:
            self.log_message('refused: %s', e)
            self._error(e, model_name)
            return
        except Exception as e:  # noqa: B902  a bug: report it, keep serving
            self.log_message('failed: %r', e)
            self._error(UploadError(HTTPStatus.INTERNAL_SERVER_ERROR,
                                    f'Internal error ({type(e).__name__}: {e}); the server '
                                    'log has the details.'), model_name)
            raise
        if self._wants_json():
            answer = dict(model=result['model'], pred_label=result['pred_label'],
                          pred_class=str(result['topk'][0][0]),
                          topk=[{'class': str(n), 'score': s} for n, s in result['topk']])
            self._send(HTTPStatus.OK, json.dumps(answer).encode(), 'application/json')
        else:
            self._page(HTTPStatus.OK, _result_html(result, file_name), result['model'])

    def _content_length(self) -> int:
        length = self.headers.get('Content-Length')
        if length is None or not length.isdigit():
            self.close_connection = True
            raise UploadError(HTTPStatus.LENGTH_REQUIRED,
                              'The upload has no Content-Length; send the form as a browser '
                              'does (multipart/form-data with a length).')
        return int(length)

    def _drain(self, length: int) -> None:
        """Read and drop a body the server refuses, so the client gets the answer."""
        if length > DRAIN_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _read_form(self) -> Tuple[str, str, bytes]:
        """``(model, file name, file bytes)`` of the multipart form, the size
        checked before the body is read."""
        length = self._content_length()
        if length > self.max_upload_bytes + FORM_OVERHEAD:
            self._drain(length)
            raise UploadError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f'The upload is {length / 2 ** 20:.1f} MB; the limit is '
                f'{self.max_upload_bytes / 2 ** 20:g} MB (--max-upload-mb): upload a smaller '
                'image.')
        content_type = self.headers.get('Content-Type', '')
        body = self.rfile.read(length)
        if not content_type.startswith('multipart/form-data'):
            raise UploadError(HTTPStatus.BAD_REQUEST,
                              f'The upload is {content_type or "untyped"}, not a form: post '
                              'multipart/form-data with an "image" file field.')
        form = BytesParser(policy=HTTP).parsebytes(
            b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n' + body)
        fields = {}
        for part in form.iter_parts() if form.is_multipart() else []:
            name = part.get_param('name', header='content-disposition')
            fields[name] = (part.get_filename(), part.get_payload(decode=True) or b'')
        if 'image' not in fields:
            raise UploadError(HTTPStatus.BAD_REQUEST,
                              'The form has no "image" file field: choose an image to upload.')
        file_name, data = fields['image']
        if not file_name and not data:
            raise UploadError(HTTPStatus.BAD_REQUEST, 'No file was chosen: choose an image.')
        model_name = fields.get('model', (None, b''))[1].decode('utf-8', 'replace')
        return model_name, file_name or 'the upload', data


class DemoServer(ThreadingHTTPServer):
    """One thread per connection; the model calls queue on the classifier's lock."""
    daemon_threads = True
    # the socketserver default backlog of 5 resets a burst of connections
    request_queue_size = 128


# ------------------------------------------------------------------------ main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Serve a web page that classifies images.')
    parser.add_argument('--config', help='config file of a trained model (with --checkpoint)')
    parser.add_argument('--checkpoint', help='its checkpoint file (or URL)')
    parser.add_argument('--model', action='append', default=[],
                        help='a zoo model name to serve (its weights are fetched if not '
                        'cached); repeat for several')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1: this machine only)')
    parser.add_argument('--port', type=int, default=7860, help='port; 0 takes a free one')
    parser.add_argument('--device', default=None, help="'cpu', 'gpu' or 'npu'")
    parser.add_argument('--mirror', default=None,
                        help='folder or base URL holding the weight files (or $MMCLS_MS_MIRROR)')
    parser.add_argument('--max-upload-mb', type=float, default=20,
                        help='largest image file accepted, in MB (default 20)')
    parser.add_argument('--min-size', type=int, default=8,
                        help='smallest image side accepted, in pixels (default 8)')
    parser.add_argument('--max-megapixels', type=float, default=MAX_MEGAPIXELS,
                        help=f'largest image accepted, in megapixels (default {MAX_MEGAPIXELS})')
    return parser.parse_args(argv)


def build_classifier(args) -> Tuple[Classifier, List[str]]:
    """The classifier of the models the arguments name, and the zoo models
    shown as not cached."""
    from mmcls_ms.apis import ImageClassificationInferencer
    if bool(args.config) != bool(args.checkpoint):
        raise ValueError('--config and --checkpoint go together: the trained weights of the '
                         'config (a model without them predicts at random).')
    builders = {}
    if args.config:
        name = f'{os.path.basename(args.config)[:-3]} ({os.path.basename(args.checkpoint)})'
        builders[name] = lambda: ImageClassificationInferencer(
            args.config, pretrained=args.checkpoint, device=args.device)
    zoo = zoo_models()
    known = {name for name, _ in zoo}
    for name in args.model:
        if name not in known:
            raise ValueError(f'--model {name!r} is no image classification model of the zoo; '
                             f'choose one of {sorted(known)}.')
    for name in args.model + [n for n, cached in zoo if cached and n not in args.model]:
        builders[name] = (lambda n=name: ImageClassificationInferencer(
            n, pretrained=True, device=args.device, mirror=args.mirror))
    if not builders:
        raise ValueError('No model to serve: no zoo weights are cached. Pass --config CONFIG '
                         '--checkpoint CKPT, or --model NAME to fetch a zoo model.')
    not_cached = [n for n, cached in zoo if n not in builders]
    return (Classifier(builders, min_side=args.min_size, max_megapixels=args.max_megapixels),
            not_cached)


def make_server(args) -> DemoServer:
    """The server, bound, with its first model loaded and run once."""
    if args.max_upload_mb <= 0 or args.min_size < 1 or args.max_megapixels <= 0:
        raise ValueError('--max-upload-mb, --max-megapixels and --min-size must be positive.')
    classifier, not_cached = build_classifier(args)
    classifier.warm_up()
    handler = type('Handler', (DemoHandler, ), dict(
        classifier=classifier, not_cached=not_cached,
        max_upload_bytes=int(args.max_upload_mb * 2 ** 20)))
    server = DemoServer((args.host, args.port), handler)
    return server


def main(argv=None):
    args = parse_args(argv)
    import mmcls_ms  # noqa: F401  (chooses the oneDNN ISA before MindSpore runs)
    server = make_server(args)
    host, port = server.server_address[:2]
    print(f'Serving {", ".join(server.RequestHandlerClass.classifier.names)} on '
          f'http://{host}:{port}/ (Ctrl+C stops)', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    from mmcls_ms.utils.cli import run_cli
    run_cli(main)
