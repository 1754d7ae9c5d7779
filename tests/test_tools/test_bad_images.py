"""tools/train.py and tools/test.py on a dataset with an unreadable image: one
`error:` line naming the file and what to do, or, with skip_bad_images=True,
the image is skipped and counted in the log."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIG = """
_base_ = ['{repo}/configs/vgg/vgg11bn-gap_1xb32_digits.py']
ds = dict(_delete_=True, type='CustomDataset', data_root='{root}', data_prefix='train')
train_dataloader = dict(batch_size=4, num_workers=2,
                        dataset=dict(ds, pipeline={{{{_base_.train_pipeline}}}}))
test_dataloader = dict(batch_size=4, num_workers=2,
                       dataset=dict(ds, pipeline={{{{_base_.test_pipeline}}}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
model = dict(head=dict(num_classes=3))
train_cfg = dict(max_epochs=1)
param_scheduler = dict(_delete_=True, type='ConstantLR', factor=1.0)
default_hooks = dict(checkpoint=dict(interval=1, save_best=None))
"""


@pytest.fixture(scope='module')
def bad_image_cfg(tmp_path_factory):
    """A 3-class folder dataset of 12 real images plus one corrupt JPEG."""
    tmp = tmp_path_factory.mktemp('bad_images')
    rng = np.random.default_rng(0)
    for name in ('cat', 'dog', 'owl'):
        os.makedirs(tmp / 'data' / 'train' / name)
        for i in range(4):
            cv2.imwrite(str(tmp / 'data' / 'train' / name / f'{i}.jpg'),
                        rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    # a real JPEG cut short inside its header: OpenCV cannot decode it
    data = (tmp / 'data' / 'train' / 'dog' / '0.jpg').read_bytes()
    (tmp / 'data' / 'train' / 'dog' / 'broken.jpg').write_bytes(data[:200])
    cfg = tmp / 'cfg.py'
    cfg.write_text(CONFIG.format(repo=REPO, root=str(tmp / 'data')))
    return str(cfg), tmp


def run_tool(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def assert_one_error_line(proc, *needles):
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if 'error' in line.lower()]
    assert len(errors) == 1 and errors[0].startswith('error: Cannot decode image file'), errors
    for needle in needles:
        assert needle in errors[0]


def log_text(work_dir):
    return ''.join(open(p).read() for p in glob.glob(osp.join(work_dir, '*', '*.log')))


def test_train_and_test_stop_on_a_bad_image_or_skip_it(bad_image_cfg):
    cfg, tmp = bad_image_cfg
    work = str(tmp / 'work')
    assert_one_error_line(run_tool('tools/train.py', cfg, '--work-dir', work),
                          'broken.jpg', 'verify_dataset.py CONFIG --phase train',
                          'train_dataloader.skip_bad_images=True')

    proc = run_tool('tools/train.py', cfg, '--work-dir', work,
                    '--cfg-options', 'train_dataloader.skip_bad_images=True')
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = log_text(work)
    assert "skipped an unreadable image (skip_bad_images=True): Cannot decode image " in log
    assert 'broken.jpg' in log
    assert 'train_dataloader: 1 unreadable image(s) skipped in this pass' in log

    ckpt = osp.join(work, 'epoch_1.ckpt')
    assert_one_error_line(run_tool('tools/test.py', cfg, ckpt, '--work-dir', work),
                          'broken.jpg', 'test_dataloader.skip_bad_images=True')

    preds = str(tmp / 'preds.json')
    proc = run_tool('tools/test.py', cfg, ckpt, '--work-dir', work, '--out', preds,
                    '--out-item', 'pred', '--cfg-options', 'test_dataloader.skip_bad_images=True')
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.load(open(preds))
    # every readable image evaluated once, the broken one left out
    assert sorted(osp.basename(osp.dirname(r['img_path'])) + '/' + osp.basename(r['img_path'])
                  for r in rows) == sorted(f'{c}/{i}.jpg' for c in ('cat', 'dog', 'owl')
                                           for i in range(4))
    assert 'test_dataloader: 1 unreadable image(s) skipped' in proc.stdout
