"""The tree holds the product only: no large foreign files, no text about how it
was developed, no paths of one developer's machine."""
import os
import os.path as osp
import re
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MAX_FILE_BYTES = 1_000_000
# where large files belong: sample images and the bundled dataset
LARGE_FILES_ALLOWED = ('demo/', 'mmcls_ms/data/')
# development history and machine paths; upstream issue numbers
# ("mmpretrain issue #867") are references for the reader and stay
HISTORY = re.compile(r"\bsessions? \d+|\bthis session\b|\bshared machine\b|\bthe issue's\b|"
                     r"\b(?<!mmpretrain )(?<!mmcls )(?<!mmengine )(?<!mmcv )(?<!MindCV )"
                     r"(?<!MindSpore )(?<!PyTorch )(?<!torchvision )issue #?\d+", re.I)
MACHINE_PATH = re.compile(r'(?<![\w.~-])/(?:work|root|home/[a-z_][\w-]*)/')


def tree_files():
    """Tracked files and new ones git does not ignore (so a check fails before a commit)."""
    try:
        out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard',
                              '-z'], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout')
    return [name for name in out.decode().split('\0') if name and osp.isfile(osp.join(REPO, name))]


def text_lines(name):
    with open(osp.join(REPO, name), 'rb') as f:
        data = f.read()
    if b'\0' in data:
        return []
    return data.decode('utf-8', errors='replace').splitlines()


def offending_lines(names, pattern):
    this_file = osp.relpath(__file__, REPO)
    return [f'{name}:{number}: {line.strip()[:120]}'
            for name in names if name != this_file
            for number, line in enumerate(text_lines(name), 1) if pattern.search(line)]


def test_no_large_file_outside_demo_and_package_data():
    large = [f'{name} ({osp.getsize(osp.join(REPO, name)) / 1e6:.1f} MB)'
             for name in tree_files() if not name.startswith(LARGE_FILES_ALLOWED)
             and osp.getsize(osp.join(REPO, name)) > MAX_FILE_BYTES]
    assert large == [], 'files over 1 MB belong outside the repository (or in demo/)'


def test_text_speaks_of_the_product_only():
    assert offending_lines(tree_files(), HISTORY) == []


def test_no_machine_paths():
    assert offending_lines(tree_files(), MACHINE_PATH) == []


def test_the_patterns_catch_what_they_should():
    for text in ('measured in session 7', 'until Session 5', 'on this shared machine',
                 "the issue's reference benchmark", 'see issue #21', 'of issue 8'):
        assert HISTORY.search(text), text
    for text in ('mmpretrain issue #867', 'MindCV issue #804', 'in one sitting'):
        assert not HISTORY.search(text), text
    for text in ('/work/venvs/parity/bin/python', "'/root/.cache/x'", '/home/alice/data'):
        assert MACHINE_PATH.search(text), text
    for text in ('~/.cache/mmcls_ms', 'data/imagenet/train/', 'https://x.org/root/a'):
        assert not MACHINE_PATH.search(text), text


def test_environment_table_lists_every_variable():
    code = [name for name in tree_files()
            if name.startswith(('mmcls_ms/', 'tools/', 'benchmarks/', 'demo/'))
            and name.endswith(('.py', '.sh', '.cpp', '.h'))]
    read = {var for name in code for line in text_lines(name)
            for var in re.findall(r'\bMMCLS_MS_[A-Z0-9_]+', line)}
    with open(osp.join(REPO, 'docs', 'environment.md')) as f:
        listed = set(re.findall(r'^\| `(MMCLS_MS_[A-Z0-9_]+)` \|', f.read(), re.M))
    assert read - listed == set(), 'add them to the table in docs/environment.md'
    assert listed - read == set(), 'the code no longer reads them'
