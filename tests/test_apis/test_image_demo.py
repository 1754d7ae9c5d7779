"""demo/image_demo.py as a user runs it: JSON on stdout, drawn image, clear errors."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np

from pth_writer import write_pth

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEMO = os.path.join(REPO, 'demo', 'image_demo.py')
TINY_BN = os.path.join(HERE, 'data', 'tiny_vgg11bn_gap.py')


def run_demo(*args, env=None):
    return subprocess.run([sys.executable, DEMO, *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env=env)


def test_demo_prints_json_and_draws(tmp_path):
    # a checkpoint in mmpretrain's .pth layout: the demo converts it on the fly
    import mmcls_ms  # noqa: F401
    from mmcls_ms.apis import get_model
    rename = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
              'moving_variance': 'running_var'}
    state = {}
    for name, param in get_model(TINY_BN).parameters_and_names():
        prefix, leaf = name.rsplit('.', 1)
        state[f'{prefix}.{rename.get(leaf, leaf)}'] = param.asnumpy()
    classes = [f'digit {i}' for i in range(10)]
    checkpoint = write_pth(str(tmp_path / 'tiny.pth'), {
        'state_dict': state, 'meta': {'dataset_meta': {'classes': classes}}})
    env = dict(os.environ, MMCLS_MS_HOME=str(tmp_path / 'home'))
    proc = run_demo('demo/bird.JPEG', TINY_BN, '--checkpoint', checkpoint,
                    '--show-dir', str(tmp_path / 'vis'), '--device', 'cpu', env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result['pred_class'] in classes
    assert result['pred_class'] == classes[result['pred_label']]
    assert [t['class'] for t in result['topk']][0] == result['pred_class']
    assert len(result['topk']) == 5 and 'pred_scores' not in result
    drawn = cv2.imread(result['visualization'])
    original = cv2.imread(os.path.join(REPO, 'demo', 'bird.JPEG'))
    assert drawn.shape == original.shape and not np.array_equal(drawn, original)


def test_demo_errors_are_one_line(tmp_path):
    env = dict(os.environ, MMCLS_MS_HOME=str(tmp_path / 'home'),
               MMCLS_MS_URL_MAPPING='^https?://[^/]+=>http://127.0.0.1:9')
    proc = run_demo('demo/nothere.JPEG', TINY_BN, env=env)
    assert proc.returncode == 1 and 'nothere.JPEG' in proc.stderr
    assert 'Traceback' not in proc.stderr
    proc = run_demo('demo/cat.JPEG', 'vgg16_8xb32_in1', env=env)
    assert proc.returncode == 1 and 'vgg16_8xb32_in1k' in proc.stderr  # a suggestion
    # offline: the zoo weights cannot be fetched
    proc = run_demo('demo/cat.JPEG', 'vgg11_mindcv-8xb32_in1k', env=env)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'vgg11-ef31d161.ckpt' in proc.stderr and '--mirror' in proc.stderr


def test_every_demo_image_has_a_source_and_licence_row():
    # shipping a photo needs its origin and licence on record (demo/README.md)
    demo_dir = os.path.join(REPO, 'demo')
    rows = {}
    for line in open(os.path.join(demo_dir, 'README.md'), encoding='utf-8'):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('| `') and len(cells) == 4:
            rows[cells[0].strip('`')] = cells
    images = sorted(n for n in os.listdir(demo_dir)
                    if n.lower().endswith(('.jpeg', '.jpg', '.png')))
    assert 'bird.JPEG' in images  # the file mmpretrain's one-liner names
    for name in images:
        assert name in rows, f'demo/{name} has no row in demo/README.md'
        source, licence = rows[name][2], rows[name][3]
        assert source and licence, f'demo/README.md: the row of {name} lacks source or licence'
        assert cv2.imread(os.path.join(demo_dir, name)) is not None, f'demo/{name} does not decode'
