"""``import mmcls_ms.models`` must never import torch, even where it is installed."""
import subprocess
import sys
import textwrap

GUARD = textwrap.dedent('''
    import sys

    class NoTorch:
        """Meta-path finder that fails any attempt to import torch."""
        def find_spec(self, name, path=None, target=None):
            if name == 'torch' or name.startswith('torch.'):
                raise ImportError(f'torch was imported: {name}')
            return None

    sys.meta_path.insert(0, NoTorch())
    import mmcls_ms.models
    from mmcls_ms.registry import MODELS
    MODELS.build(dict(type='ImageClassifier',
                      backbone=dict(type='VGG', depth=11, num_classes=-1, num_stages=1),
                      neck=dict(type='GlobalAveragePooling'),
                      head=dict(type='LinearClsHead', num_classes=2, in_channels=64)))
    assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules)
    print('ok')
''')


def test_import_models_without_torch(repo_root):
    result = subprocess.run([sys.executable, '-c', GUARD], cwd=repo_root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('ok')


def test_guard_really_blocks_torch(repo_root):
    """The finder raises on torch (whether or not torch is installed)."""
    probe = GUARD.split('import mmcls_ms.models')[0] + 'import torch\n'
    result = subprocess.run([sys.executable, '-c', probe], cwd=repo_root, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and 'torch was imported' in result.stderr
