"""Find and run the runnable code blocks of the Markdown docs.

A block is runnable when the line before its fence is a marker comment::

    <!-- runnable -->
    ```bash
    python tools/train.py configs/vgg/vgg11bn-gap_1xb32_digits.py
    ```

Words in the marker (see docs/get_started.md, "Runnable blocks"):

- ``slow``: run only under ``pytest -m slow``;
- ``file=PATH``: do not run the block, write it to ``PATH`` (a config);
- ``NAME=VALUE``: an environment variable for this block, typically
  ``MMCLS_MS_CFG_OPTIONS="train_cfg.max_epochs=1"`` to shrink a training run.

``bash``/``shell``/``sh`` blocks run with ``bash -e -o pipefail``, ``python``
blocks with ``python``; every block of a document runs in order in one
temporary copy of the repository, so a block can use what an earlier one made.
"""
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MARKER = re.compile(r'^\s*<!--\s*runnable\b(?P<words>.*?)-->\s*$')
FENCE = re.compile(r'^(?P<indent>\s*)(?P<ticks>`{3,})(?P<lang>[\w+-]*)\s*$')
SHELLS = ('bash', 'shell', 'sh', 'console')
LANGS = SHELLS + ('python', 'py')
# what a copy of the repository leaves out: outputs, caches, VCS data
_IGNORE_ANYWHERE = shutil.ignore_patterns('.git', '__pycache__', '*.egg-info', '.mim',
                                          '.pytest_cache')
# top-level outputs of runs (the package's own mmcls_ms/data is kept)
_IGNORE_AT_TOP = shutil.ignore_patterns('work_dirs', 'outputs', 'rank_*', '*.whl', 'benchmarks',
                                        'data', 'checkpoints')


class MarkerError(ValueError):
    """A runnable marker that is not followed by a code block, or has bad words."""


@dataclass
class Block:
    doc: str            # path relative to the repository
    line: int           # 1-based line of the opening fence
    lang: str
    code: str
    slow: bool = False
    file: str = None
    env: dict = field(default_factory=dict)
    section: str = ''   # the heading above the block

    @property
    def where(self):
        return f'{self.doc}:{self.line}'


def doc_files(root=REPO_ROOT):
    """README.md and docs/*.md, relative to ``root``."""
    docs = sorted(f'docs/{n}' for n in os.listdir(osp.join(root, 'docs')) if n.endswith('.md'))
    return ['README.md'] + docs


def parse_marker(words, where):
    slow, file, env = False, None, {}
    for word in shlex.split(words):
        if word == 'slow':
            slow = True
        elif word.startswith('file='):
            file = word[5:]
        elif re.match(r'^[A-Z_][A-Z0-9_]*=', word):
            name, value = word.split('=', 1)
            env[name] = value
        else:
            raise MarkerError(f'{where}: unknown word {word!r} in the runnable marker; use '
                              'slow, file=PATH or NAME=VALUE.')
    return slow, file, env


def read_blocks(doc, root=REPO_ROOT, runnable_only=True):
    """The fenced code blocks of ``doc`` (runnable ones only, by default)."""
    with open(osp.join(root, doc), encoding='utf-8') as f:
        lines = f.read().splitlines()
    blocks, pending, section = [], None, ''
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if line.startswith('#'):
            section = line.lstrip('#').strip()
        if marker:
            pending = (i + 1, marker.group('words'))
            i += 1
            continue
        if fence:
            start, indent = i, fence.group('indent')
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != fence.group('ticks'):
                text = lines[i]
                body.append(text[len(indent):] if text.startswith(indent) else text.lstrip())
                i += 1
            lang = fence.group('lang').lower()
            if pending is not None:
                where = f'{doc}:{pending[0]}'
                if pending[0] != start:  # the marker must sit right above the fence
                    raise MarkerError(f'{where}: a runnable marker must be on the line right '
                                      'before a code fence.')
                if lang not in LANGS:
                    raise MarkerError(f'{where}: runnable blocks are bash or python, not '
                                      f'{lang!r}.')
                slow, file, env = parse_marker(pending[1], where)
                blocks.append(Block(doc, start + 1, lang, '\n'.join(body) + '\n', slow, file,
                                    env, section))
            elif not runnable_only:
                blocks.append(Block(doc, start + 1, lang, '\n'.join(body) + '\n',
                                    section=section))
            pending = None
        elif pending is not None and line.strip():
            raise MarkerError(f'{doc}:{pending[0]}: a runnable marker must be on the line '
                              'right before a code fence.')
        i += 1
    if pending is not None:
        raise MarkerError(f'{doc}:{pending[0]}: a runnable marker at the end of the file.')
    return blocks


def copy_repo(dst, root=REPO_ROOT):
    """A working copy of the repository for the blocks to run in (no outputs, no .git)."""
    top = osp.abspath(root)

    def ignore(folder, names):
        skipped = set(_IGNORE_ANYWHERE(folder, names))
        if osp.abspath(folder) == top:
            skipped |= set(_IGNORE_AT_TOP(folder, names))
        return skipped

    shutil.copytree(root, dst, ignore=ignore, symlinks=True)
    digits = osp.join(root, 'data', 'digits')
    if osp.isfile(osp.join(digits, 'READY')):  # saves writing 1797 PNGs again
        shutil.copytree(digits, osp.join(dst, 'data', 'digits'))
    return dst


def block_env(block, workdir):
    env = dict(os.environ)
    env.pop('MMCLS_MS_CFG_OPTIONS', None)
    env.update(block.env)
    # the copy's package, not the checkout's (an editable install points there)
    env['PYTHONPATH'] = workdir + os.pathsep + env.get('PYTHONPATH', '')
    env['PYTHONUNBUFFERED'] = '1'
    env.setdefault('MPLBACKEND', 'Agg')
    return env


def run_block(block, workdir, timeout=900):
    """Run (or write) ``block`` in ``workdir``; raise AssertionError with its output on failure."""
    if block.file:
        path = osp.join(workdir, block.file)
        os.makedirs(osp.dirname(path) or '.', exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(block.code)
        return ''
    if block.lang in SHELLS:
        cmd = ['bash', '-e', '-o', 'pipefail', '-c', block.code]
    else:
        cmd = [sys.executable, '-c', block.code]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=block_env(block, workdir),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f'{block.where}: the block ran past {timeout}s:\n{block.code}\n'
                             f'output:\n{(err.output or "")[-3000:]}') from None
    if proc.returncode != 0:
        env = ' '.join(f'{k}={shlex.quote(v)}' for k, v in block.env.items())
        raise AssertionError(f'{block.where}: the block failed (exit {proc.returncode}) '
                             f'{"with " + env if env else ""}:\n{block.code}\n'
                             f'output (last 4000 characters):\n{proc.stdout[-4000:]}')
    return proc.stdout
