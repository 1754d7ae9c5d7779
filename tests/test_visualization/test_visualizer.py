"""The visualizer: its backends, the refusals, and the one drawer."""
import json
import sys

import numpy as np
import pytest

from mmcls_ms.visualization import UniversalVisualizer, build_visualizer


def test_local_backend_writes_mmengines_layout(tmp_path):
    vis = build_visualizer(dict(type='UniversalVisualizer',
                                vis_backends=[dict(type='LocalVisBackend')]),
                           save_dir=str(tmp_path / 'vis_data'))
    vis.add_scalars({'loss': 0.5, 'lr': 0.1}, step=3)
    vis.add_scalars({'accuracy/top1': 90.0}, step=1)
    lines = (tmp_path / 'vis_data' / 'scalars.json').read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {'loss': 0.5, 'lr': 0.1, 'step': 3}, {'accuracy/top1': 90.0, 'step': 1}]


@pytest.mark.parametrize('name', ['WandbVisBackend', 'MLflowVisBackend'])
def test_service_backends_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match=f'visualizer.vis_backends: {name} is not supported'):
        build_visualizer(dict(vis_backends=[dict(type=name)]), save_dir=str(tmp_path))


def test_unknown_backend_names_the_registry(tmp_path):
    with pytest.raises(KeyError, match="Unknown type 'TensorBoardVisBackend'.*Did you mean "
                                       "'TensorboardVisBackend'"):
        build_visualizer(dict(vis_backends=[dict(type='TensorBoardVisBackend')]),
                         save_dir=str(tmp_path))


def test_tensorboard_without_tensorboardx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorboardX', None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'mmcls_ms\[tensorboard\]'"):
        build_visualizer(dict(vis_backends=[dict(type='TensorboardVisBackend')]),
                         save_dir=str(tmp_path))


def test_other_ranks_build_no_backend():
    vis = build_visualizer(None, save_dir=None)
    vis.add_scalars({'loss': 1.0}, step=1)
    assert vis.backends == []


def test_draw_cls_enlarges_and_writes_each_line():
    image = np.full((32, 48, 3), 200, np.uint8)
    canvas = UniversalVisualizer.draw_cls(image, [('cat', 0.9), ('dog', 0.1)], ground_truth='cat')
    assert canvas.shape == (267, 400, 3)
    assert image.max() == 200 and image.min() == 200  # the input is untouched
    plain = UniversalVisualizer.draw_cls(image, [('cat', 0.9), ('dog', 0.1)])
    assert not np.array_equal(canvas, plain)  # the ground-truth line is drawn
