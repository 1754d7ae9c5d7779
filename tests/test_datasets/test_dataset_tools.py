"""The data tools: verify_dataset, browse_dataset, prepare_digits."""
import importlib.util
import os.path as osp
import shutil
import sys

import cv2
import pytest

# Import the shared rich console now, while sys.stdout is pytest's session-wide
# stream: it keeps the file it was created with, and a test's capsys stream is
# closed after that test.
import mmcls_ms.utils.progress  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(relpath):
    spec = importlib.util.spec_from_file_location(osp.basename(relpath)[:-3],
                                                  osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # worker processes unpickle functions by module name
    spec.loader.exec_module(module)
    return module


def write_config(tmp_path, data_root, pipeline_extra=''):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'''
train_dataloader = dict(
    batch_size=2, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={data_root!r}, data_prefix='train',
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='RandomResizedCrop', scale=24){pipeline_extra},
                           dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=True))
''')
    return str(cfg)


def test_verify_dataset_lists_every_bad_file(tmp_path, image_files, write_folders, capsys):
    root = tmp_path / 'data'
    write_folders(str(root / 'train'), {'a': 3, 'b': 2})
    for kind in ('corrupt', 'truncated', 'empty', 'rgba', 'png16', 'gray', 'corrupt_middle',
                 'not_image'):
        ext = osp.splitext(image_files[kind])[1]
        shutil.copy(image_files[kind], root / 'train' / 'b' / f'{kind}{ext}')
    out_path = tmp_path / 'broken.log'
    tool = load_tool('tools/misc/verify_dataset.py')
    with pytest.raises(SystemExit) as exc:
        tool.main([write_config(tmp_path, str(root)), '--out-path', str(out_path),
                   '--num-process', '2'])
    assert exc.value.code == 1
    listed = out_path.read_text().splitlines()
    names = sorted(osp.basename(line.split('\t')[0]) for line in listed)
    assert names == ['corrupt.jpg', 'corrupt_middle.jpg', 'empty.png', 'not_image.jpg',
                     'truncated.jpg']
    assert any('truncated JPEG' in line for line in listed)
    assert any('corrupt_middle.jpg\tdecoder warning: Corrupt JPEG data' in line
               for line in listed)
    out = capsys.readouterr().out
    assert '5 of 13 images are bad' in out
    assert all(name in out for name in names)


def test_verify_dataset_passes_a_clean_dataset(tmp_path, write_folders, capsys):
    root = tmp_path / 'data'
    write_folders(str(root / 'train'), {'a': 3})
    tool = load_tool('tools/misc/verify_dataset.py')
    tool.main([write_config(tmp_path, str(root)), '--out-path', str(tmp_path / 'b.log')])
    assert 'All 3 images' in capsys.readouterr().out


def test_browse_dataset_writes_a_png_grid(tmp_path, write_folders):
    root = tmp_path / 'data'
    write_folders(str(root / 'train'), {'cat': 4, 'dog': 4}, size=(40, 30))
    tool = load_tool('tools/visualization/browse_dataset.py')
    out_dir = tmp_path / 'vis'
    tool.main([write_config(tmp_path, str(root), ", dict(type='RandomFlip', prob=0.5)"),
               '--output-dir', str(out_dir), '--num-images', '6', '--ncols', '3'])
    pngs = list(out_dir.glob('*.png'))
    assert len(pngs) == 1
    grid = cv2.imread(str(pngs[0]))
    # 2 rows x 3 columns of 24 px tiles magnified to >= 128 px, with captions
    assert grid.shape[1] >= 3 * 128 and grid.shape[0] >= 2 * 128
    assert grid.std() > 10  # real content, not a blank canvas


def test_prepare_digits_tool(tmp_path, capsys):
    tool = load_tool('tools/misc/prepare_digits.py')
    root = tmp_path / 'digits'
    tool.main(['--data-root', str(root), '--size', '16'])
    assert 'Wrote the digits dataset' in capsys.readouterr().out
    pngs = sorted((root / 'val' / '3').glob('*.png'))
    assert len(pngs) == 183 // 5 and cv2.imread(str(pngs[0])).shape == (16, 16, 3)
    tool.main(['--data-root', str(root)])
    assert 'already prepared' in capsys.readouterr().out
