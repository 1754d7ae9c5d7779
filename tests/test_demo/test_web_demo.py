"""demo/web_demo.py as a real server process on 127.0.0.1, fed real image
files over HTTP: its answers equal inference_model's, bad uploads get a 4xx
with their message and leave it serving, and 20 concurrent requests get 20
right answers with its memory flat."""
import base64
import importlib.util
import io
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import cv2
import numpy as np
import pytest
from digits_files import DIGITS_CONFIG, REPO, digit_files
from PIL import Image

WEB_DEMO = osp.join(REPO, 'demo', 'web_demo.py')


def load_web_demo():
    spec = importlib.util.spec_from_file_location('web_demo', WEB_DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DemoServer:
    """``python demo/web_demo.py ... --port 0`` until the test ends."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, WEB_DEMO, '--port', '0', *args], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONPATH=REPO))
        self.output = []
        self.url = None

    def wait_ready(self) -> 'DemoServer':
        """Read the output until the server prints its address."""
        deadline = time.time() + 240
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(r'on (http://127\.0\.0\.1:\d+/)', line)
            if match:
                self.url = match.group(1)
                threading.Thread(target=self._keep_reading, daemon=True).start()
                return self
        self.stop()
        raise AssertionError('the web demo did not start:\n' + ''.join(self.output)[-3000:])

    def _keep_reading(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def rss_mb(self) -> float:
        with open(f'/proc/{self.proc.pid}/status') as f:
            return int(re.search(r'VmRSS:\s+(\d+) kB', f.read()).group(1)) / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(url, file_name, data, accept_json=True, model=None):
    """``(status, body text)`` of the page's form posted as a browser does."""
    boundary = uuid.uuid4().hex
    parts = []
    if model is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'
                     f'{model}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                 f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b'\r\n')
    body = b''.join(parts) + f'--{boundary}--\r\n'.encode()
    request = urllib.request.Request(
        url + 'predict', data=body, headers={
            'Content-Type': f'multipart/form-data; boundary={boundary}',
            'Accept': 'application/json' if accept_json else 'text/html'})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def read(path):
    with open(path, 'rb') as f:
        return f.read()


@pytest.fixture(scope='module')
def served(digits_checkpoint):
    checkpoint, root = digits_checkpoint
    server = DemoServer('--config', DIGITS_CONFIG, '--checkpoint', checkpoint)
    try:
        yield server, checkpoint, root
    finally:
        server.stop()


@pytest.fixture(scope='module')
def reference(served):
    """The in-process inferencer on the same config and checkpoint, without
    the inference fast path (built while the server starts), and the server."""
    from mmcls_ms.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(DIGITS_CONFIG, pretrained=served[1], fast=False)
    served[0].wait_ready()
    return inferencer


def test_answers_equal_inference_model(reference, served):
    from mmcls_ms.apis import inference_model
    server, checkpoint, root = served
    image = digit_files(root, 'val', 1)[7]
    status, body = post(server.url, osp.basename(image), read(image))
    assert status == 200, body
    answer = json.loads(body)
    expected = inference_model(DIGITS_CONFIG, image, pretrained=checkpoint)
    assert answer['pred_label'] == expected['pred_label'] == 7  # the head tells digits apart
    assert answer['pred_class'] == expected['pred_class'] == '7'
    order = np.argsort(-expected['pred_scores'])[:5]
    assert [int(t['class']) for t in answer['topk']] == order.tolist()
    np.testing.assert_allclose([t['score'] for t in answer['topk']],
                               expected['pred_scores'][order], atol=1e-5)

    # the page: top-1, the top-5 table and the Grad-CAM of the top-1 class
    from mmcls_ms.apis.cam import compute_cam, default_target_layers, overlay_cam
    status, page = post(server.url, osp.basename(image), read(image), accept_json=False)
    assert status == 200
    assert '<span id="top1-class">7</span>' in page
    assert len(re.findall(r'<td class="class">', page)) == 5
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    shown = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    inputs = reference.preprocess(image)['inputs'][None]
    cam = compute_cam(reference.model, inputs, default_target_layers(reference.model), [7])
    expected_picture = overlay_cam(inputs[0].transpose(1, 2, 0), cam)
    assert shown.shape == expected_picture.shape == inputs.shape[2:] + (3, )
    assert np.abs(shown.astype(int) - expected_picture).max() <= 2


def test_bad_uploads_get_4xx_and_a_message_and_the_server_keeps_serving(reference, served):
    server, _, root = served
    one_pixel = cv2.imencode('.png', np.zeros((1, 1, 3), np.uint8))[1].tobytes()
    huge_picture = io.BytesIO()  # 100 megapixels of one colour in a 12 kB PNG
    Image.new('1', (10000, 10000)).save(huge_picture, 'PNG')
    cases = [
        ('notes.txt', b'this is no image\n' * 10, 415, "Cannot decode image file 'notes.txt'"),
        ('empty.png', b'', 400, "'empty.png' is empty (0 bytes)"),
        ('huge.png', bytes(50 * 2 ** 20), 413, 'The upload is 50.0 MB; the limit is 20 MB'),
        ('dot.png', one_pixel, 400, "'dot.png' is 1x1 pixels; the demo needs at least 8x8"),
        ('wall.png', huge_picture.getvalue(), 413,
         "'wall.png' has 100 megapixels; the limit is 50 (--max-megapixels)"),
    ]
    good = digit_files(root, 'val', 1)[3]
    for name, data, status, message in cases:
        got, body = post(server.url, name, data, accept_json=False)
        assert got == status, (name, body[-500:])
        shown = re.search(r'<p id="error">([^<]+)</p>', body).group(1)
        assert message in shown.replace('&#x27;', "'"), shown
        got, body = post(server.url, osp.basename(good), read(good))
        assert got == 200 and json.loads(body)['pred_label'] == 3, body
    got, body = post(server.url, osp.basename(good), read(good), model='no-such-model')
    assert got == 400 and 'is not served here' in json.loads(body)['error']
    assert server.proc.poll() is None


def top1(status, body):
    """The top-1 class of a JSON answer or of the page."""
    assert status == 200, body[-500:]
    if body.startswith('{'):
        return json.loads(body)['pred_class']
    return re.search(r'<span id="top1-class">([^<]+)</span>', body).group(1)


def test_20_concurrent_requests_are_right_and_memory_stays_flat(reference, served):
    server, _, root = served
    images = digit_files(root, 'val', 2)
    expected = {path: result['pred_class']
                for path, result in zip(images, reference(images, batch_size=20))}
    for i, path in enumerate(images[:4]):  # warm-up: every lazy allocation happens once
        post(server.url, osp.basename(path), read(path), accept_json=i % 2 == 0)
    before = server.rss_mb()
    answers = {}

    def ask(path, accept_json):  # half of them ask for the page with its Grad-CAM
        try:
            answers[path] = top1(*post(server.url, osp.basename(path), read(path), accept_json))
        except Exception as e:  # noqa: B902  shown in the assertion below
            answers[path] = repr(e)

    threads = [threading.Thread(target=ask, args=(path, i % 2 == 0))
               for i, path in enumerate(images)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    after = server.rss_mb()
    print(f'server RSS around 20 concurrent requests: {before:.0f} -> {after:.0f} MB')
    assert answers == expected
    assert after - before < 50, (before, after)


def test_cli_refusals(cache_home):
    web_demo = load_web_demo()
    with pytest.raises(ValueError, match='--config and --checkpoint go together'):
        web_demo.build_classifier(web_demo.parse_args(['--config', DIGITS_CONFIG]))
    with pytest.raises(ValueError, match='No model to serve: no zoo weights are cached'):
        web_demo.build_classifier(web_demo.parse_args([]))
    with pytest.raises(ValueError, match="--model 'vgg11-typo' is no image classification"):
        web_demo.build_classifier(web_demo.parse_args(['--model', 'vgg11-typo']))


def test_zoo_models_with_cached_weights_are_offered(cache_home, tmp_path):
    from mmcls_ms.apis.model_index import ModelHub
    from mmcls_ms.weights.download import file_name_of
    web_demo = load_web_demo()
    weights = ModelHub.get('vgg11bn_8xb32_in1k').weights
    (cache_home / 'checkpoints').mkdir(parents=True)
    (cache_home / 'checkpoints' / file_name_of(weights)).write_bytes(b'cached')
    zoo = dict(web_demo.zoo_models())
    assert zoo['vgg11bn_8xb32_in1k'] and not zoo['vgg11_8xb32_in1k']
    checkpoint = tmp_path / 'digits.ckpt'  # named only: models are built on first use
    classifier, not_cached = web_demo.build_classifier(web_demo.parse_args(
        ['--config', DIGITS_CONFIG, '--checkpoint', str(checkpoint)]))
    assert classifier.names == ['vgg11bn-gap_1xb32_digits (digits.ckpt)', 'vgg11bn_8xb32_in1k']
    assert 'vgg11_8xb32_in1k' in not_cached and 'vgg11bn_8xb32_in1k' not in not_cached
    options = web_demo._options(classifier.names, '', not_cached)
    assert '<option value="vgg11bn_8xb32_in1k">' in options
    assert '<option disabled>vgg11_8xb32_in1k</option>' in options


def test_a_model_that_cannot_load_is_reported_on_the_page(tmp_path):
    from mmcls_ms.apis import ImageClassificationInferencer
    web_demo = load_web_demo()
    missing = str(tmp_path / 'epoch_9.ckpt')
    classifier = web_demo.Classifier({'digits': lambda: ImageClassificationInferencer(
        DIGITS_CONFIG, pretrained=missing)})
    png = cv2.imencode('.png', np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    with pytest.raises(web_demo.UploadError, match="Model 'digits' could not be loaded: ") as e:
        classifier.classify('digits', 'x.png', png)
    assert e.value.status == 503 and 'epoch_9.ckpt' in str(e.value)


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv('MMCLS_MS_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'
