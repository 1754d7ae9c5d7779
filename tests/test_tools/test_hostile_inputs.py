"""The command-line tools given what a careful new user might give them: a zero
or negative count, an output file where a folder goes, a suffix no writer knows,
a file that is no results pickle.  Each ends in one clear error naming the flag
or file, before any work; none runs on with a silently changed value.

In-process: each tool's ``parse_args`` / ``main(argv)``; the checks run before
a model or a dataset is built.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmcls_ms.utils.cli import error_message, is_expected_error

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def load_tool(relative):
    path = osp.join(REPO, relative)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool, argv, message', [
    ('tools/visualization/browse_dataset.py', ['--num-images', '0'],
     'argument --num-images: must be a positive int, got 0'),
    ('tools/visualization/browse_dataset.py', ['--ncols', '0'],
     'argument --ncols: must be a positive int, got 0'),
    ('tools/visualization/browse_dataset.py', ['--scale', '0'],
     'argument --scale: must be a number > 0, got 0'),
    ('tools/visualization/browse_dataset.py', ['--scale', 'nan'],
     'argument --scale: must be a number > 0, got nan'),
    ('tools/visualization/browse_dataset.py', ['--epoch', '-1'],
     'argument --epoch: must be an int >= 0, got -1'),
    ('tools/misc/verify_dataset.py', ['--num-process', '0'],
     'argument --num-process: must be a positive int, got 0'),
    ('tools/analysis_tools/benchmark.py', ['--batch-size', '0'],
     'argument --batch-size: must be a positive int, got 0'),
    ('tools/analysis_tools/benchmark.py', ['--threads', '-2'],
     'argument --threads: must be an int >= 0, got -2'),
    ('tools/analysis_tools/get_flops.py', ['--shape', '-32', '32'],
     'argument --shape: must be a positive int, got -32'),
    ('tools/deployment/export.py', ['random', '--shape', '0'],
     'argument --shape: must be a positive int, got 0'),
    ('tools/deployment/export.py', ['random', '--atol', '-1'],
     'argument --atol: must be a number >= 0, got -1'),
    ('tools/test.py', ['epoch_1.ckpt', '--show-dir', 'out', '--interval', '0'],
     'argument --interval: must be a positive int, got 0'),
    ('tools/test.py', ['epoch_1.ckpt', '--show', '--wait-time', '-1'],
     'argument --wait-time: must be a number >= 0, got -1'),
    ('demo/image_demo.py', ['vgg11bn', '--topk', '-2'],
     "argument --topk: must be a positive int, got -2"),
    ('demo/image_demo.py', ['vgg11bn', '--topk', 'five'],
     "argument --topk: must be a positive int, got 'five'"),
])
def test_a_count_or_size_out_of_range_is_a_usage_error(tool, argv, message, capsys):
    first = ['demo/cat.JPEG'] if tool.startswith('demo') else [CONFIG]
    with pytest.raises(SystemExit) as exc:
        load_tool(tool).parse_args(first + argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('tool, argv, error, message', [
    ('tools/visualization/vis_scheduler.py', [CONFIG, '--not-show', '-s', '{tmp}/s.xyz'],
     ValueError, "--save-path {tmp}/s.xyz: matplotlib cannot write '.xyz' files"),
    ('tools/analysis_tools/analyze_logs.py', ['plot_curve', '{tmp}/none.json', '--out',
                                              '{tmp}/p.xyz'],
     ValueError, "--out {tmp}/p.xyz: matplotlib cannot write '.xyz' files"),
    ('tools/visualization/vis_cam.py', ['demo/cat.JPEG', CONFIG, 'x.ckpt', '--save-path',
                                        '{tmp}/c.xyz'],
     ValueError, "--save-path {tmp}/c.xyz: OpenCV cannot write '.xyz' files"),
    ('tools/analysis_tools/confusion_matrix.py', [CONFIG, 'r.pkl', '--show-path', '{tmp}/m.xyz'],
     ValueError, "--show-path {tmp}/m.xyz: matplotlib cannot write '.xyz' files"),
    ('tools/analysis_tools/confusion_matrix.py', [CONFIG, 'r.pkl', '--cmap', 'nosuch'],
     ValueError, "--cmap 'nosuch' is no matplotlib colour map"),
    ('tools/visualization/browse_dataset.py', [CONFIG, '--output-dir', '{tmp}/a_file'],
     NotADirectoryError, '--output-dir {tmp}/a_file is a file, not a folder'),
    ('tools/visualization/vis_scheduler.py', [CONFIG, '--not-show', '-s', '{tmp}/a_file/s.png'],
     NotADirectoryError, '--save-path {tmp}/a_file/s.png: {tmp}/a_file is a file, not a folder'),
    ('tools/misc/verify_dataset.py', [CONFIG, '--out-path', '{tmp}'],
     IsADirectoryError, '--out-path {tmp} is a folder; give the path of a file'),
    ('tools/analysis_tools/analyze_results.py', [CONFIG, '{tmp}/results.pkl', '--out-dir',
                                                 '{tmp}/a_file'],
     NotADirectoryError, '--out-dir {tmp}/a_file is a file, not a folder'),
    ('tools/analysis_tools/eval_metric.py', ['{tmp}/a_file.pkl', '--metric', 'type=Accuracy'],
     ValueError, '{tmp}/a_file.pkl is not a readable results pickle'),
    ('tools/analysis_tools/eval_metric.py', ['{tmp}/results.pkl', '--metric', 'accuracy'],
     ValueError, '--metric accuracy: write the metric config as KEY=VALUE words'),
    ('tools/analysis_tools/eval_metric.py', ['{tmp}/results.pkl', '--metric', 'type=Accuracy',
                                             'topk=0'],
     ValueError, 'Accuracy: topk must be positive ints'),
])
def test_a_bad_path_or_value_is_one_error_line(tool, argv, error, message, tmp_path):
    import pickle
    (tmp_path / 'a_file').write_text('not a folder')
    (tmp_path / 'a_file.pkl').write_text('garbage')
    rows = [dict(sample_idx=0, gt_label=np.array([1]), pred_label=np.array([1]),
                 pred_score=np.array([0.2, 0.8], np.float32))]
    (tmp_path / 'results.pkl').write_bytes(pickle.dumps(rows))
    argv = [a.format(tmp=tmp_path) for a in argv]
    with pytest.raises(error) as exc:
        load_tool(tool).main(argv)
    assert is_expected_error(exc.value), exc.value
    line = error_message(exc.value)
    assert message.format(tmp=tmp_path) in line and '\n' not in line


def test_an_input_too_small_for_the_model_is_refused():
    import mindspore as ms

    from mmcls_ms.models.utils.complexity import count_complexity
    from mmcls_ms.registry import MODELS
    from mmcls_ms.utils import register_all_modules
    register_all_modules()
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = MODELS.build(dict(type='VGG', depth=11, num_classes=-1))
    with pytest.raises(ValueError, match=r'input \(1, 3, 8, 8\) is too small for this model: '
                                         r'features.9 gives an empty output'):
        count_complexity(model, (1, 3, 8, 8))


def test_the_inferencer_refuses_a_top_k_below_one():
    # a negative k used to slice classes off the end of the list
    from mmcls_ms.apis import ImageClassificationInferencer
    with pytest.raises(ValueError, match='top_k must be a positive integer, got -2'):
        ImageClassificationInferencer.top_k(None, {'pred_scores': np.array([0.1, 0.9])}, -2)


def test_print_config_warns_about_a_key_that_is_not_read(tmp_path, capsys):
    config = tmp_path / 'typo.py'
    config.write_text(f'_base_ = [{CONFIG!r}]\noptim_wraper = dict(optimizer=dict(lr=0.5))\n')
    load_tool('tools/misc/print_config.py').main([str(config)])
    err = capsys.readouterr().err
    assert ('warning: Config key `optim_wraper` is not read by mmcls_ms, so it has no effect. '
            'Did you mean `optim_wrapper`?') in err
