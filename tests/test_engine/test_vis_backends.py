"""The config's visualizer is honoured: scalars.json from LocalVisBackend and
TensorBoard event files from TensorboardVisBackend, in a real training run."""
import glob
import json
import os
import os.path as osp
import struct

import pytest

from mmcls_ms.engine import Runner
from engine_fixtures import tiny_cfg


def read_events(path):
    """The records of a TensorBoard event file, each checked against its CRCs and
    decoded with the Event protobuf."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c
    events = []
    with open(path, 'rb') as f:
        data = f.read()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack('<Q', header)
        (header_crc,) = struct.unpack('<I', data[offset + 8:offset + 12])
        assert header_crc == masked_crc32c(header)
        body = data[offset + 12:offset + 12 + length]
        (body_crc,) = struct.unpack('<I', data[offset + 12 + length:offset + 16 + length])
        assert body_crc == masked_crc32c(body)
        events.append(Event.FromString(body))
        offset += 16 + length
    return events


def test_tensorboard_and_local_backends_in_a_training_run(tiny_digits, tmp_path):
    pytest.importorskip('tensorboardX')
    root, n_train, _ = tiny_digits
    backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
    cfg = tiny_cfg(root, tmp_path / 'run', epochs=1, batch_size=32,
                   visualizer=dict(type='UniversalVisualizer', vis_backends=backends),
                   vis_backends=backends, **{
                       'env_cfg.mode': 'pynative',
                       # drawn test images go to the backends too (no out_dir)
                       'default_hooks.visualization': dict(type='VisualizationHook',
                                                           enable=True, interval=20)})
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.test()

    vis_data = glob.glob(str(tmp_path / 'run' / '*' / 'vis_data'))[0]
    records = [json.loads(line) for line in open(osp.join(vis_data, 'scalars.json'))]
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'accuracy/top1' in r]
    assert train and len(val) == 1 and val[0]['step'] == 1

    # the test images (samples 0, 20 and 40 of the 49), as PNG files and in TensorBoard
    drawn = sorted(os.listdir(osp.join(vis_data, 'vis_image')))
    assert len(drawn) == 3 and drawn[0].startswith('000000_') and drawn[0].endswith('_1.png')

    scalars, images = {}, []
    for path in sorted(glob.glob(osp.join(vis_data, 'events.out.tfevents.*'))):
        for event in read_events(path):
            for value in event.summary.value:
                if value.HasField('image'):
                    images.append(value.image)
                else:
                    scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    assert len(images) == 3 and images[0].width == 400
    # the same numbers as scalars.json, at the same steps
    assert [s for s, _ in scalars['loss']] == [r['step'] for r in train]
    assert [v for _, v in scalars['loss']] == pytest.approx([r['loss'] for r in train])
    assert scalars['accuracy/top1'] == [(1, pytest.approx(val[0]['accuracy/top1']))]
    assert 'lr' in scalars and 'step' not in scalars


def test_without_a_visualizer_scalars_json_is_still_written(tiny_digits, tmp_path):
    root, _, _ = tiny_digits
    cfg = tiny_cfg(root, tmp_path / 'run', epochs=1, batch_size=32, visualizer=None,
                   vis_backends=None)
    runner = Runner.from_cfg(cfg)
    assert [type(b).__name__ for b in runner.visualizer.backends] == ['LocalVisBackend']
